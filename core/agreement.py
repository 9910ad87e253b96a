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


def dawid_skene(labels: pd.DataFrame, item: str = "item", worker: str = "worker",
                label: str = "label", iterations: int = 100, tolerance: float = 1e-6
                ) -> pd.DataFrame:
    """Labels by Dawid-Skene EM over per-worker confusion matrices, started from the votes.

    Returns one row per item: label (the most probable class), confidence (its posterior) and
    tie (True when the top two posteriors are equal). Works on the label rows directly, so
    memory grows with the number of labels, not items x workers.
    """
    items, at_item = np.unique(labels[item], return_inverse=True)
    workers, at_worker = np.unique(labels[worker], return_inverse=True)
    classes, given = np.unique(labels[label], return_inverse=True)
    n_items, n_classes = len(items), len(classes)
    n_workers = len(workers)
    cell = at_worker * n_classes + given  # (worker, given label) of each label row
    posterior = np.full((n_items, n_classes), 1e-9)  # start from the (soft) majority vote
    np.add.at(posterior, (at_item, given), 1)
    posterior /= posterior.sum(axis=1, keepdims=True)
    for _ in range(iterations):
        priors = posterior.mean(axis=0)
        # confusion[w, true, given], smoothed so an unseen pair is unlikely, not impossible
        confusion = np.stack([
            np.bincount(cell, posterior[at_item, t], n_workers * n_classes)
            .reshape(n_workers, n_classes) for t in range(n_classes)], axis=1) + 0.01
        confusion /= confusion.sum(axis=2, keepdims=True)
        log_confusion = np.log(confusion)
        log_like = np.log(priors) + np.stack([
            np.bincount(at_item, log_confusion[at_worker, t, given], n_items)
            for t in range(n_classes)], axis=1)
        log_like -= log_like.max(axis=1, keepdims=True)
        updated = np.exp(log_like)
        updated /= updated.sum(axis=1, keepdims=True)
        converged = np.abs(updated - posterior).max() < tolerance
        posterior = updated
        if converged:
            break
    order = np.argsort(posterior, axis=1)
    best, second = order[:, -1], order[:, -2] if n_classes > 1 else order[:, -1]
    top = posterior[np.arange(n_items), best]
    tie = (n_classes > 1) & np.isclose(top, posterior[np.arange(n_items), second])
    return pd.DataFrame({item: items, "label": classes[best], "confidence": top, "tie": tie})
