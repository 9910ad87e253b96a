"""Dawid-Skene checked against crowd-kit's implementation (a test dependency)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from crowdkit.aggregation import DawidSkene

from core.agreement import dawid_skene

# crowd-kit 1.4.2 calls pandas APIs that pandas 3.1 deprecates; its warnings are not ours.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:crowdkit",
                                        "ignore::FutureWarning:crowdkit")

BLUEBIRDS = Path(__file__).parent / "data" / "bluebirds"
CLASSES = ("positive", "neutral", "negative")


def reference(labels: pd.DataFrame, **settings) -> DawidSkene:
    """crowd-kit's Dawid-Skene fitted to the labels (its defaults unless `settings` say)."""
    return DawidSkene(**{"n_iter": 100, **settings}).fit(labels.rename(columns={"item": "task"}))


def single_answers(seed: int, workers: int, accuracy: float = 0.86
                   ) -> tuple[pd.DataFrame, pd.Series]:
    """200 items, one answer each, from `workers` experts right `accuracy` of the time."""
    rng = np.random.default_rng(seed)
    truth = rng.choice(CLASSES, 200, p=[0.5, 0.3, 0.2])
    wrong = {c: [o for o in CLASSES if o != c] for c in CLASSES}
    given = [t if rng.random() < accuracy else rng.choice(wrong[t]) for t in truth]
    labels = pd.DataFrame({"item": range(200),
                           "worker": [f"w{n}" for n in rng.integers(0, workers, 200)],
                           "label": given})
    return labels, pd.Series(truth)


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("workers", [20, 60])
def test_a_sole_answer_stands_unless_crowd_kit_overrides_it_too(seed, workers):
    labels, truth = single_answers(seed, workers)
    sole = labels.set_index("item")["label"]
    ours = dawid_skene(labels).set_index("item")["label"]
    theirs = reference(labels).labels_.reindex(sole.index)
    overridden, overridden_by_them = set(sole.index[ours != sole]), set(
        sole.index[theirs != sole])
    assert overridden <= overridden_by_them
    raw_accuracy = (sole == truth).mean()
    assert raw_accuracy - (ours == truth).mean() <= raw_accuracy - (theirs == truth).mean()


@pytest.fixture(scope="module")
def bluebirds():
    labels = pd.read_csv(BLUEBIRDS / "labels.csv")
    truth = pd.read_csv(BLUEBIRDS / "truth.csv").set_index("item")["label"]
    return labels, truth


def test_bluebirds_labels_match_crowd_kit_at_its_fixed_point(bluebirds):
    labels, truth = bluebirds
    ours = dawid_skene(labels).set_index("item")
    # crowd-kit's own stopping rule ends after 2 rounds here (the bound it watches falls from
    # the first round on), so compare with where its EM goes in 30 rounds: its log-likelihood
    # moves by under 1e-8 per label after 20.
    fitted = reference(labels, n_iter=30, tol=-np.inf)
    assert (ours["label"] == fitted.labels_.reindex(ours.index)).all()
    theirs = fitted.probas_.reindex(ours.index).max(axis=1)
    assert np.abs(ours["confidence"] - theirs).max() < 0.01
    assert (ours["label"] == truth.reindex(ours.index)).mean() >= 0.89


def test_dawid_skene_stops_once_it_has_converged(bluebirds):
    labels, _ = bluebirds
    stopped = dawid_skene(labels)
    assert stopped.attrs["iterations"] < 100
    longer = dawid_skene(labels, iterations=500)
    assert (stopped["label"] == longer["label"]).all()
    assert np.abs(stopped["confidence"] - longer["confidence"]).max() < 1e-3
