"""Agreement and aggregation against published reference values."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.agreement import dawid_skene, krippendorff_alpha, majority_vote

BLUEBIRDS = Path(__file__).parent / "data" / "bluebirds"

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the worked example with
# four coders, twelve units and missing values (None).
RELIABILITY = {
    "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    "C": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
}


def long_form(matrix: dict) -> pd.DataFrame:
    return pd.DataFrame([(unit, coder, value) for coder, values in matrix.items()
                         for unit, value in enumerate(values) if value is not None],
                        columns=["unit", "coder", "value"])


@pytest.mark.parametrize("level, published", [
    ("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)])
def test_alpha_matches_krippendorffs_published_values(level, published):
    assert round(krippendorff_alpha(long_form(RELIABILITY), level), 3) == published


def test_alpha_edge_cases():
    perfect = long_form({"A": [1, 2, 3], "B": [1, 2, 3]})
    assert krippendorff_alpha(perfect) == 1.0
    assert krippendorff_alpha(long_form({"A": [1, 2], "B": [None, None]})) is None
    assert krippendorff_alpha(long_form({"A": [1, 1], "B": [1, 1]})) is None
    text = pd.DataFrame({"unit": [1, 1, 2, 2], "value": ["cat", "cat", "dog", "cat"]})
    assert krippendorff_alpha(text) < 1


def test_majority_vote_reports_ties():
    labels = pd.DataFrame({"item": [1, 1, 1, 2, 2], "label": ["a", "a", "b", "a", "b"]})
    result = majority_vote(labels).set_index("item")
    assert (result.loc[1, "label"], result.loc[1, "tie"]) == ("a", False)
    assert result.loc[1, "confidence"] == pytest.approx(2 / 3)
    assert pd.isna(result.loc[2, "label"]) and result.loc[2, "tie"]


@pytest.fixture(scope="module")
def bluebirds():
    labels = pd.read_csv(BLUEBIRDS / "labels.csv")
    truth = pd.read_csv(BLUEBIRDS / "truth.csv").set_index("item")["label"]
    return labels, truth


def accuracy(result: pd.DataFrame, truth: pd.Series) -> float:
    return float((result.set_index("item")["label"] == truth).mean())


def test_bluebirds_majority_vote_matches_the_published_accuracy(bluebirds):
    labels, truth = bluebirds
    assert labels["worker"].nunique() == 39 and labels["item"].nunique() == 108
    assert accuracy(majority_vote(labels), truth) == pytest.approx(0.76, abs=0.01)


def test_bluebirds_dawid_skene_reaches_the_published_accuracy(bluebirds):
    labels, truth = bluebirds
    result = dawid_skene(labels)
    assert accuracy(result, truth) >= 0.89 - 0.005
    assert result["confidence"].between(0.5, 1).all()


def test_dawid_skene_trusts_reliable_workers_over_a_noisy_majority():
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 2, 200)
    rows = []
    for n in range(200):
        rows += [(n, "expert", truth[n])]
        rows += [(n, f"noisy{k}", truth[n] if rng.random() < 0.55 else 1 - truth[n])
                 for k in range(4)]
    labels = pd.DataFrame(rows, columns=["item", "worker", "label"])
    ds = accuracy(dawid_skene(labels), pd.Series(truth))
    mv = float((majority_vote(labels).set_index("item")["label"] == pd.Series(truth)).mean())
    assert ds > mv and ds > 0.95
