"""Agreement and label aggregation: Krippendorff's alpha, majority vote, Dawid-Skene.

Pure functions over long tables of (unit/item, coder/worker, value/label); no database.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np
import pandas as pd

LEVELS = ("nominal", "ordinal", "interval", "ratio")


def krippendorff_alpha(data: pd.DataFrame, level: str = "nominal", unit: str = "unit",
                       value: str = "value") -> float | None:
    """Krippendorff's alpha of the values coders gave units (missing values simply absent).

    Units with fewer than two values are not pairable and are left out. Returns None when
    nothing is pairable or every pairable value is the same (alpha is undefined then).
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}")
    frame = data[[unit, value]].dropna()
    if frame.empty:
        return None
    units, at_unit = np.unique(frame[unit].to_numpy(), return_inverse=True)
    values, at_value = np.unique(frame[value].to_numpy(), return_inverse=True)
    # counts[u, v]: how many coders gave unit u the value v
    counts = np.zeros((len(units), len(values)))
    np.add.at(counts, (at_unit, at_value), 1)
    sizes = counts.sum(axis=1)
    counts, sizes = counts[sizes >= 2], sizes[sizes >= 2]
    if len(counts) == 0:
        return None
    # Coincidences: every ordered pair of values from different coders in a unit, weighted
    # 1 / (m_u - 1): sum over units of (c c^T - diag(c)) / (m_u - 1).
    weights = 1 / (sizes - 1)
    coincidences = (counts * weights[:, None]).T @ counts - np.diag(weights @ counts)
    marginals = coincidences.sum(axis=1)
    total = marginals.sum()
    delta = _distance(values, marginals, level)
    expected = (np.outer(marginals, marginals) * delta).sum()
    if expected == 0:
        return None
    observed = (coincidences * delta).sum()
    return float(1 - (total - 1) * observed / expected)


def _distance(values: np.ndarray, marginals: np.ndarray, level: str) -> np.ndarray:
    """The squared difference function δ² between every pair of values."""
    if level == "nominal":
        return 1.0 - np.eye(len(values))
    v = values.astype(float)
    if level == "interval":
        return np.subtract.outer(v, v) ** 2
    if level == "ratio":
        sums = np.add.outer(v, v)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.nan_to_num((np.subtract.outer(v, v) / sums) ** 2)
    cumulative = np.concatenate([[0.0], np.cumsum(marginals)])
    low = np.minimum.outer(np.arange(len(v)), np.arange(len(v)))
    high = np.maximum.outer(np.arange(len(v)), np.arange(len(v)))
    between = cumulative[high + 1] - cumulative[low]  # n_g summed over g from c to k
    return (between - (marginals[low] + marginals[high]) / 2) ** 2


@dataclass(frozen=True)
class Aggregate:
    """One item's aggregated label, its confidence, and whether the top labels tied."""
    item: Hashable
    label: Hashable | None
    confidence: float
    tie: bool


def majority_vote(labels: pd.DataFrame, item: str = "item", label: str = "label"
                  ) -> pd.DataFrame:
    """Each item's most frequent label; ties are reported (label None, tie True), not broken.

    Returns one row per item: label, confidence (the winning label's share of the votes), tie.
    """
    counts = labels.groupby([item, label]).size().rename("votes").reset_index()
    grouped = counts.groupby(item)["votes"]
    counts["total"], counts["top"] = grouped.transform("sum"), grouped.transform("max")
    winners = counts[counts["votes"] == counts["top"]]
    per_item = winners.groupby(item).agg(label=(label, "first"), winners=(label, "size"),
                                         votes=("votes", "first"), total=("total", "first"))
    tie = per_item["winners"] > 1
    return pd.DataFrame({item: per_item.index,
                         "label": per_item["label"].where(~tie, None).to_numpy(),
                         "confidence": (per_item["votes"] / per_item["total"]).to_numpy(),
                         "tie": tie.to_numpy()})


# crowd-kit's floor for a probability: a (true, given) pair a worker never showed is very
# unlikely, not impossible. Additive smoothing (+0.01 on every cell) is no such floor: it is
# as large as the counts of a worker seen a few times, so with one answer per item it let the
# class priors overrule 85 of 200 sole answers.
FLOOR = 1e-10


def dawid_skene(labels: pd.DataFrame, item: str = "item", worker: str = "worker",
                label: str = "label", iterations: int = 100, tolerance: float = 1e-5
                ) -> pd.DataFrame:
    """Labels by Dawid-Skene EM over per-worker confusion matrices, started from the votes.

    Returns one row per item: label (the most probable class), confidence (its posterior) and
    tie (True when the top two posteriors are equal); `attrs["iterations"]` says how many EM
    rounds ran. EM stops once the log-likelihood per label gains less than `tolerance` in a
    round (crowd-kit's rule). Works on the label rows directly, so memory grows with the
    number of labels, not items x workers.
    """
    if labels.empty:
        result = pd.DataFrame(columns=[item, "label", "confidence", "tie"])
        result.attrs["iterations"] = 0
        return result
    items, at_item = np.unique(labels[item].to_numpy(), return_inverse=True)
    workers, at_worker = np.unique(labels[worker].to_numpy(), return_inverse=True)
    classes, given = np.unique(labels[label].to_numpy(), return_inverse=True)
    by_item = np.argsort(at_item, kind="stable")
    fit = _DawidSkene(at_item[by_item], at_worker[by_item], given[by_item], len(workers),
                      len(classes))
    posterior, rounds = fit.run(iterations, tolerance)
    order = np.argsort(posterior, axis=1)
    best, second = order[:, -1], order[:, -2] if len(classes) > 1 else order[:, -1]
    top = posterior[np.arange(len(items)), best]
    tie = (len(classes) > 1) & np.isclose(top, posterior[np.arange(len(items)), second])
    result = pd.DataFrame({item: items, "label": classes[best], "confidence": top, "tie": tie})
    result.attrs["iterations"] = rounds
    return result


class _DawidSkene:
    """The EM state over label rows sorted by item: (item, worker, given class) per row."""

    def __init__(self, at_item: np.ndarray, at_worker: np.ndarray, given: np.ndarray,
                 n_workers: int, n_classes: int) -> None:
        self.at_item, self.given, self.n_classes = at_item, given, n_classes
        self.cell = at_worker * n_classes + given  # (worker, given class) of each row
        self.n_cells = n_workers * n_classes
        self.starts = np.flatnonzero(np.r_[True, at_item[1:] != at_item[:-1]])
        # Normalise each worker's confusion rows over the classes the worker did give, as
        # crowd-kit does; classes the worker never gave have no row to explain.
        self.seen = np.bincount(self.cell, minlength=self.n_cells) > 0
        self.worker_of_cell = np.repeat(np.arange(n_workers), n_classes)
        self.n_workers = n_workers

    def run(self, iterations: int, tolerance: float) -> tuple[np.ndarray, int]:
        """EM from the vote shares until the log-likelihood stops rising; (posterior, rounds)."""
        posterior = np.zeros((len(self.starts), self.n_classes))
        np.add.at(posterior, (self.at_item, self.given), 1)
        posterior /= posterior.sum(axis=1, keepdims=True)
        previous = -np.inf
        for rounds in range(1, iterations + 1):
            log_priors, log_confusion = self.maximise(posterior)
            posterior, log_likelihood = self.expect(log_priors, log_confusion)
            if log_likelihood - previous < tolerance:
                return posterior, rounds
            previous = log_likelihood
        return posterior, iterations

    def maximise(self, posterior: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Class priors and each row's log P(given | true class) from the posteriors (M-step)."""
        priors = np.maximum(posterior.mean(axis=0), FLOOR)
        mass = posterior[self.at_item]  # per row: weight of each true class
        # counts[cell, true]: expected times the worker gave that class when the truth was true
        counts = np.stack([np.bincount(self.cell, mass[:, t], self.n_cells)
                           for t in range(self.n_classes)], axis=1)
        counts = np.where(self.seen[:, None], np.maximum(counts, FLOOR), 0.0)
        totals = np.stack([np.bincount(self.worker_of_cell, counts[:, t], self.n_workers)
                           for t in range(self.n_classes)], axis=1)
        return np.log(priors), np.log(counts[self.cell] / totals[self.cell // self.n_classes])

    def expect(self, log_priors: np.ndarray, log_confusion: np.ndarray
               ) -> tuple[np.ndarray, float]:
        """Posteriors of each item's true class, and the log-likelihood per row (E-step)."""
        log_joint = log_priors + np.add.reduceat(log_confusion, self.starts, axis=0)
        peak = log_joint.max(axis=1, keepdims=True)
        joint = np.exp(log_joint - peak)
        evidence = joint.sum(axis=1, keepdims=True)
        log_likelihood = float((peak + np.log(evidence)).sum()) / len(self.cell)
        return joint / evidence, log_likelihood
