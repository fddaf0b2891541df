"""Evaluation metrics for the binary benign/malignant classifier, over plain numpy arrays.

Conventions used throughout:

- ``y_true`` is a ``(N,)`` array of labels in ``{0, 1}``; ``1`` means malignant.
- ``p`` is a ``(N,)`` float array of predicted probabilities of malignancy in ``[0, 1]``;
  ``scores`` may be any finite reals (logits or probabilities) where only ranks matter.
- A lesion is called malignant when ``p >= threshold``.
- Quantities that are undefined on the data (a ratio with a zero denominator, an AUC on a
  single class) are ``None``, never ``NaN``, so every result is valid JSON.

No TensorFlow, no Streamlit: this module only needs numpy, pandas, scipy and scikit-learn.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    confusion_matrix,
    f1_score,
    precision_recall_curve,
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)

from skinapp.model.labels import as_binary_arrays, require_both_classes

logger = logging.getLogger(__name__)

__all__ = [
    "CI_METHOD",
    "CLASS_NAMES",
    "ECE_DEFINITION",
    "AucCI",
    "as_binary_arrays",
    "brier_score",
    "calibration_table",
    "curves",
    "expected_calibration_error",
    "require_both_classes",
    "roc_auc_with_ci",
    "summarize",
    "threshold_metrics",
]

#: Label names, index = label value.
CLASS_NAMES: tuple[str, str] = ("benign", "malignant")

#: Groups with fewer lesions than this in either class get no AUC (too unstable to report).
MIN_CLASS_COUNT = 10

#: Bootstrap resamples are drawn in chunks of at most this many matrix cells (memory bound).
_BOOT_CHUNK_CELLS = 1 << 22

#: How the expected calibration error is defined (stated in ``metrics.json`` / model card).
ECE_DEFINITION = (
    "ECE = sum_b (n_b / N) * |frac_pos_b - p_mean_b| over equal-width bins of the predicted "
    "probability of malignancy (bin b = [b/B, (b+1)/B), last bin closed, B bins); frac_pos_b is "
    "the fraction of malignant lesions and p_mean_b the mean predicted probability in bin b. "
    "This is the positive-class (reliability-diagram) ECE, not the top-label ECE of Guo et al. "
    "(2017), which bins max(p, 1 - p)."
)

#: How the AUC confidence interval is computed.
CI_METHOD = (
    "Percentile bootstrap, stratified: malignant and benign lesions are resampled separately "
    "with replacement (class counts fixed), AUC recomputed as the Mann-Whitney statistic (ties "
    "count 1/2); interval = [alpha/2, 1 - alpha/2] quantiles of the resampled AUCs."
)


# === Input checks ===

# (in :mod:`skinapp.model.labels`, re-exported here)


def _float_or_none(x: Any) -> float | None:
    """Return ``float(x)``, or None when ``x`` is None, NaN or infinite."""
    if x is None:
        return None
    value = float(x)
    return value if math.isfinite(value) else None


# === Ranking: ROC AUC with a bootstrap CI ===


@dataclass(frozen=True)
class AucCI:
    """ROC AUC with a bootstrap confidence interval.

    Attributes
    ----------
    auc : float
        Point estimate on the full data (scikit-learn ``roc_auc_score``), in [0, 1].
    low, high : float
        Percentile bootstrap interval bounds, ``low <= high``.
    n, n_pos : int
        Number of lesions and of malignant lesions.
    """

    auc: float
    low: float
    high: float
    n: int
    n_pos: int

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict of the fields."""
        return asdict(self)


def _row_counts(idx: np.ndarray, size: int) -> np.ndarray:
    """How often each of ``size`` items is drawn in each row of ``idx`` (B, K) -> (B, size)."""
    rows = idx.shape[0]
    flat = (idx + size * np.arange(rows)[:, None]).ravel()
    return np.bincount(flat, minlength=rows * size).reshape(rows, size)


def _weighted_aucs(
    pos: np.ndarray, neg: np.ndarray, w_pos: np.ndarray, w_neg: np.ndarray
) -> np.ndarray:
    """Mann-Whitney AUC of resamples given as counts ``w_pos`` (B, P), ``w_neg`` (B, Q) -> (B,).

    ``AUC_b = sum_ij w_pos[b, i] w_neg[b, j] (1[pos_i > neg_j] + 0.5 * 1[pos_i == neg_j])
    / (sum w_pos[b] * sum w_neg[b])``, computed with one cumulative sum over the sorted
    negatives instead of a sort per resample: O(B * (P + Q)).
    """
    order = np.argsort(neg, kind="stable")
    neg_sorted = neg[order]
    below = np.searchsorted(neg_sorted, pos, side="left")  # negatives < pos_i
    at_or_below = np.searchsorted(neg_sorted, pos, side="right")  # negatives <= pos_i
    cum = np.zeros((w_neg.shape[0], neg.size + 1))
    np.cumsum(w_neg[:, order], axis=1, out=cum[:, 1:])
    credit = 0.5 * (cum[:, below] + cum[:, at_or_below])  # (B, P)
    total = w_pos.sum(axis=1) * w_neg.sum(axis=1)
    return (w_pos * credit).sum(axis=1) / total


def _bootstrap_aucs(
    pos: np.ndarray, neg: np.ndarray, n_boot: int, rng: np.random.Generator
) -> np.ndarray:
    """AUCs of ``n_boot`` stratified resamples, drawn in memory-bounded chunks.

    Each chunk draws positive indices ``(rows, P)`` then negative indices ``(rows, Q)``
    with ``rng.integers`` and scores them as counts with :func:`_weighted_aucs`.
    """
    n = pos.size + neg.size
    chunk = max(1, _BOOT_CHUNK_CELLS // n)
    out = np.empty(n_boot, dtype=np.float64)
    for start in range(0, n_boot, chunk):
        rows = min(chunk, n_boot - start)
        w_pos = _row_counts(rng.integers(0, pos.size, size=(rows, pos.size)), pos.size)
        w_neg = _row_counts(rng.integers(0, neg.size, size=(rows, neg.size)), neg.size)
        out[start : start + rows] = _weighted_aucs(pos, neg, w_pos, w_neg)
    return out


def roc_auc_with_ci(
    y_true: Any, scores: Any, *, n_boot: int = 2000, seed: int = 0, alpha: float = 0.05
) -> AucCI:
    """ROC AUC with a stratified percentile-bootstrap confidence interval.

    Malignant and benign lesions are resampled separately with replacement, so every
    resample keeps the class counts of the data and its AUC is always defined. The AUC of
    each resample is the Mann-Whitney statistic (ties count one half, as in scikit-learn's
    ``roc_auc_score``), computed for all resamples at once from their draw counts.

    Parameters
    ----------
    y_true : (N,) array_like of {0, 1}
        1 = malignant.
    scores : (N,) array_like of float
        Any finite scores where larger means more likely malignant (logits or probabilities).
    n_boot : int
        Number of bootstrap resamples, >= 1.
    seed : int
        Seed of the ``numpy.random.default_rng`` that draws the resamples.
    alpha : float
        Two-sided level in (0, 1): the interval is the ``[alpha/2, 1 - alpha/2]`` quantiles.

    Returns
    -------
    AucCI

    Raises
    ------
    ValueError
        If only one class is present, or on invalid inputs or parameters.

    Examples
    --------
    >>> ci = roc_auc_with_ci([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], n_boot=100)
    >>> ci.auc
    0.75
    """
    if n_boot < 1:
        raise ValueError(f"`n_boot` must be >= 1. Received: `n_boot={n_boot}`")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"`alpha` must be in (0, 1). Received: `alpha={alpha}`")
    y, s = as_binary_arrays(y_true, scores, probabilities=False, name="scores")
    require_both_classes(y, "ROC AUC")
    pos, neg = s[y == 1], s[y == 0]
    aucs = _bootstrap_aucs(pos, neg, n_boot, np.random.default_rng(seed))
    low, high = np.quantile(aucs, [alpha / 2.0, 1.0 - alpha / 2.0])
    return AucCI(
        auc=float(roc_auc_score(y, s)),
        low=float(low),
        high=float(high),
        n=int(y.size),
        n_pos=int(pos.size),
    )


# === Operating point ===


def threshold_metrics(y_true: Any, p: Any, threshold: float) -> dict[str, Any]:
    """Confusion counts and rates at one threshold (malignant when ``p >= threshold``).

    Parameters
    ----------
    y_true : (N,) array_like of {0, 1}
    p : (N,) array_like of float in [0, 1]
    threshold : float
        Decision threshold; ``p >= threshold`` is called malignant.

    Returns
    -------
    dict
        ``threshold``, ``tp``, ``fp``, ``tn``, ``fn`` (int) and ``accuracy``,
        ``balanced_accuracy`` (mean of sensitivity and specificity), ``sensitivity``
        (recall of malignant), ``specificity`` (recall of benign), ``precision`` (PPV),
        ``npv``, ``f1`` (float in [0, 1], or None where the denominator is zero).
    """
    if not math.isfinite(threshold):
        raise ValueError(f"`threshold` must be finite. Received: `threshold={threshold}`")
    y, s = as_binary_arrays(y_true, p)
    pred = (s >= threshold).astype(np.int64)
    tn, fp, fn, tp = (int(v) for v in confusion_matrix(y, pred, labels=[0, 1]).ravel())
    nan = float("nan")
    sensitivity = _float_or_none(recall_score(y, pred, pos_label=1, zero_division=nan))
    specificity = _float_or_none(recall_score(y, pred, pos_label=0, zero_division=nan))
    both = sensitivity is not None and specificity is not None
    return {
        "threshold": float(threshold),
        "tp": tp,
        "fp": fp,
        "tn": tn,
        "fn": fn,
        "accuracy": float(accuracy_score(y, pred)),
        "balanced_accuracy": (sensitivity + specificity) / 2.0 if both else None,
        "sensitivity": sensitivity,
        "specificity": specificity,
        "precision": _float_or_none(precision_score(y, pred, pos_label=1, zero_division=nan)),
        "npv": _float_or_none(precision_score(y, pred, pos_label=0, zero_division=nan)),
        "f1": _float_or_none(f1_score(y, pred, pos_label=1, zero_division=nan)),
    }


def _confusion_dict(metrics: dict[str, Any]) -> dict[str, Any]:
    """Confusion matrix (rows = true, columns = predicted; benign first) as a dict."""
    return {
        "labels": list(CLASS_NAMES),
        "threshold": metrics["threshold"],
        "matrix": [[metrics["tn"], metrics["fp"]], [metrics["fn"], metrics["tp"]]],
        "rows": "true label",
        "columns": "predicted label (malignant when p >= threshold)",
    }


# === Curves ===


def curves(y_true: Any, p: Any) -> dict[str, pd.DataFrame]:
    """ROC and precision-recall curves as DataFrames ready for CSV.

    Parameters
    ----------
    y_true : (N,) array_like of {0, 1}, both classes present
    p : (N,) array_like of float in [0, 1]

    Returns
    -------
    dict
        ``"roc"``: columns ``threshold, fpr, tpr`` (threshold decreasing);
        ``"pr"``: columns ``threshold, precision, recall`` (threshold increasing).
        scikit-learn's extra end points (ROC's ``inf`` threshold, PR's threshold-less
        ``recall = 0, precision = 1`` point) get threshold 1.0, so every value is finite.
    """
    y, s = as_binary_arrays(y_true, p)
    require_both_classes(y, "ROC/PR curves")
    fpr, tpr, roc_thr = roc_curve(y, s)
    roc_thr = np.where(np.isfinite(roc_thr), roc_thr, 1.0)
    precision, recall, pr_thr = precision_recall_curve(y, s)
    pr_thr = np.append(pr_thr, 1.0)
    return {
        "roc": pd.DataFrame({"threshold": roc_thr, "fpr": fpr, "tpr": tpr}),
        "pr": pd.DataFrame({"threshold": pr_thr, "precision": precision, "recall": recall}),
    }


# === Calibration ===


def _bin_edges(p: np.ndarray, n_bins: int, strategy: str) -> np.ndarray:
    if strategy == "uniform":
        return np.linspace(0.0, 1.0, n_bins + 1)
    if strategy == "quantile":
        return np.percentile(p, np.linspace(0.0, 100.0, n_bins + 1))
    raise ValueError(
        f"`strategy` must be 'uniform' or 'quantile'. Received: `strategy={strategy!r}`"
    )


def calibration_table(
    y_true: Any, p: Any, n_bins: int = 10, strategy: str = "uniform"
) -> pd.DataFrame:
    """Reliability table: mean predicted probability vs observed malignancy rate per bin.

    Binning matches ``sklearn.calibration.calibration_curve`` (same edges, same assignment
    of values on an edge), and, like it, empty bins are left out.

    Parameters
    ----------
    y_true : (N,) array_like of {0, 1}
    p : (N,) array_like of float in [0, 1]
    n_bins : int
        Number of bins, >= 1.
    strategy : {"uniform", "quantile"}
        Equal-width bins on [0, 1], or bins holding about N / n_bins lesions each.

    Returns
    -------
    pandas.DataFrame
        One row per non-empty bin: ``bin`` (int, 0-based), ``bin_low``, ``bin_high`` (edges),
        ``p_mean`` (mean predicted probability), ``frac_pos`` (fraction malignant),
        ``count`` (int).
    """
    if n_bins < 1:
        raise ValueError(f"`n_bins` must be >= 1. Received: `n_bins={n_bins}`")
    y, s = as_binary_arrays(y_true, p)
    edges = _bin_edges(s, n_bins, strategy)
    bin_ids = np.searchsorted(edges[1:-1], s)
    count = np.bincount(bin_ids, minlength=n_bins)
    p_sum = np.bincount(bin_ids, weights=s, minlength=n_bins)
    pos_sum = np.bincount(bin_ids, weights=y, minlength=n_bins)
    keep = count > 0
    return pd.DataFrame(
        {
            "bin": np.arange(n_bins)[keep],
            "bin_low": edges[:-1][keep],
            "bin_high": edges[1:][keep],
            "p_mean": p_sum[keep] / count[keep],
            "frac_pos": pos_sum[keep] / count[keep],
            "count": count[keep],
        }
    )


def expected_calibration_error(y_true: Any, p: Any, n_bins: int = 10) -> float:
    """Expected calibration error of the probability of malignancy, equal-width bins.

    ``ECE = sum_b (n_b / N) * |frac_pos_b - p_mean_b|`` where, for each of ``n_bins``
    equal-width bins of ``p`` on [0, 1], ``n_b`` is its number of lesions, ``frac_pos_b``
    the fraction that are malignant and ``p_mean_b`` their mean predicted probability.
    This is the positive-class (reliability diagram) ECE; it is not the top-label ECE of
    Guo et al. (2017), which bins ``max(p, 1 - p)`` against accuracy. See
    :data:`ECE_DEFINITION`.

    Parameters
    ----------
    y_true : (N,) array_like of {0, 1}
    p : (N,) array_like of float in [0, 1]
    n_bins : int

    Returns
    -------
    float in [0, 1]; 0 means perfectly calibrated on these bins.
    """
    table = calibration_table(y_true, p, n_bins=n_bins, strategy="uniform")
    weights = table["count"] / table["count"].sum()
    return float((weights * (table["frac_pos"] - table["p_mean"]).abs()).sum())


def brier_score(y_true: Any, p: Any) -> float:
    """Brier score ``mean((p - y)^2)`` in [0, 1]; lower is better (scikit-learn)."""
    y, s = as_binary_arrays(y_true, p)
    return float(brier_score_loss(y, s))


# === Summary ===


def _auc_block(
    y: np.ndarray, s: np.ndarray, *, n_boot: int, seed: int, alpha: float
) -> tuple[dict[str, Any] | None, float | None, str | None]:
    """ROC AUC (with CI) and average precision, or None and a note when unreliable."""
    n_pos = int(y.sum())
    n_neg = int(y.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        return None, None, f"single class (n_malignant={n_pos}, n_benign={n_neg}): no AUC"
    if min(n_pos, n_neg) < MIN_CLASS_COUNT:
        note = (
            f"fewer than {MIN_CLASS_COUNT} lesions in a class (n_malignant={n_pos}, "
            f"n_benign={n_neg}): AUC not reported"
        )
        return None, None, note
    ci = roc_auc_with_ci(y, s, n_boot=n_boot, seed=seed, alpha=alpha)
    block = {**ci.to_dict(), "alpha": alpha, "n_boot": n_boot, "seed": seed}
    return block, float(average_precision_score(y, s)), None


def _summarize_one(
    y: np.ndarray, s: np.ndarray, threshold: float, *, n_boot: int, seed: int, alpha: float
) -> dict[str, Any]:
    roc_auc, pr_auc, note = _auc_block(y, s, n_boot=n_boot, seed=seed, alpha=alpha)
    at_threshold = threshold_metrics(y, s, threshold)
    out: dict[str, Any] = {
        "n": int(y.size),
        "n_malignant": int(y.sum()),
        "prevalence": float(y.mean()),
        "roc_auc": roc_auc,
        "pr_auc": pr_auc,
        "brier": brier_score(y, s),
        "ece": expected_calibration_error(y, s),
        "threshold_metrics": at_threshold,
        "confusion_matrix": _confusion_dict(at_threshold),
    }
    if note is not None:
        out["note"] = note
    return out


def summarize(
    y_true: Any,
    p: Any,
    threshold: float,
    *,
    groups: pd.Series | None = None,
    n_boot: int = 2000,
    seed: int = 0,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """All metrics of a probability vector, overall and optionally per group, as plain JSON.

    Parameters
    ----------
    y_true : (N,) array_like of {0, 1}
    p : (N,) array_like of float in [0, 1]
        Predicted probability of malignancy (calibrated, if the model is).
    threshold : float
        Operating threshold for the binary call (malignant when ``p >= threshold``).
    groups : (N,) pandas.Series or array_like, optional
        Group of each lesion (e.g. source dataset), aligned by position, not by index.
        Missing values form the group ``"unknown"``.
    n_boot, seed, alpha
        Bootstrap settings for the AUC interval (see :func:`roc_auc_with_ci`).

    Returns
    -------
    dict
        ``n``, ``n_malignant``, ``prevalence``, ``roc_auc`` (dict with ``auc, low, high, n,
        n_pos, alpha, n_boot, seed``), ``pr_auc`` (average precision), ``brier``, ``ece``,
        ``threshold_metrics`` (see :func:`threshold_metrics`), ``confusion_matrix``, and
        ``by_group`` (group name -> the same keys) when ``groups`` is given. Where a group
        has a single class or fewer than :data:`MIN_CLASS_COUNT` lesions of either class,
        ``roc_auc`` and ``pr_auc`` are None and ``note`` says why. Only builtin types; no
        NaN or inf.

    Raises
    ------
    ValueError
        On invalid inputs, or if the whole data set has a single class.
    """
    y, s = as_binary_arrays(y_true, p)
    require_both_classes(y, "summarize")
    out = _summarize_one(y, s, threshold, n_boot=n_boot, seed=seed, alpha=alpha)
    if groups is None:
        return out
    g = pd.Series(np.asarray(groups, dtype=object))
    if g.size != y.size:
        raise ValueError(
            f"`groups` must have one entry per lesion. Received: `len(groups)={g.size}`, "
            f"`len(y_true)={y.size}`"
        )
    g = g.where(g.notna(), "unknown").astype(str).to_numpy()
    out["by_group"] = {
        name: _summarize_one(
            y[g == name], s[g == name], threshold, n_boot=n_boot, seed=seed, alpha=alpha
        )
        for name in sorted(set(g))
    }
    logger.debug("Summarised %d lesions in %d groups", y.size, len(out["by_group"]))
    return out
