"""Paired comparisons of two scores on the same lesions: DeLong's test and a paired bootstrap.

Both answer "is model A's ROC AUC different from model B's on these test images?" while
respecting that the two AUCs are computed on the same lesions (so their errors correlate,
which an unpaired comparison of two confidence intervals ignores).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.stats import norm

# The stratified resampling and the vectorised Mann-Whitney AUC of the headline CI are reused
# so that the paired interval and the headline interval are the same kind of bootstrap.
from skinapp.model.metrics import (
    _row_counts,
    _weighted_aucs,
    as_binary_arrays,
    require_both_classes,
)

DELONG_METHOD = (
    "DeLong, DeLong & Clarke-Pearson (1988) test of the difference of two correlated ROC AUCs "
    "(fast midrank algorithm of Sun & Xu 2014); two-sided normal p-value"
)
BOOTSTRAP_METHOD = (
    "paired stratified bootstrap: malignant and benign lesions resampled with replacement, the "
    "same resample scored by both models; percentile interval of the AUC difference; two-sided "
    "p = min(1, 2 * (k + 1) / (B + 1)), k = the smaller count of resampled differences <= 0 "
    "or >= 0"
)


def _midranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks of ``x`` with ties given their average rank."""
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    ranks = np.empty(x.size, np.float64)
    i = 0
    while i < x.size:
        j = i
        while j < x.size and xs[j] == xs[i]:
            j += 1
        ranks[i:j] = 0.5 * (i + j - 1) + 1
        i = j
    out = np.empty(x.size, np.float64)
    out[order] = ranks
    return out


def _delong_parts(pos: np.ndarray, neg: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """AUC and its structural components ``V10`` (per positive) and ``V01`` (per negative)."""
    m, n = pos.size, neg.size
    tx, ty = _midranks(pos), _midranks(neg)
    tz = _midranks(np.concatenate([pos, neg]))
    auc = (tz[:m].sum() - m * (m + 1) / 2) / (m * n)
    v10 = (tz[:m] - tx) / n
    v01 = 1.0 - (tz[m:] - ty) / m
    return float(auc), v10, v01


def delong_test(y_true: Any, scores_a: Any, scores_b: Any) -> dict[str, float]:
    """DeLong's test of ``AUC(a) - AUC(b)`` on the same lesions.

    Parameters
    ----------
    y_true : (N,) array_like of {0, 1}
    scores_a, scores_b : (N,) array_like of float
        Two models' scores for the same lesions, larger = more likely malignant.

    Returns
    -------
    dict
        ``auc_a, auc_b, diff`` (a - b), ``se``, ``z``, ``p`` (two-sided) and the normal 95%
        interval ``low, high`` of the difference. Identical scores give ``diff = 0, p = 1``.
    """
    y, a = as_binary_arrays(y_true, scores_a, probabilities=False, name="scores_a")
    _, b = as_binary_arrays(y_true, scores_b, probabilities=False, name="scores_b")
    require_both_classes(y, "DeLong's test")
    parts = [_delong_parts(s[y == 1], s[y == 0]) for s in (a, b)]
    aucs = np.array([p[0] for p in parts])
    v10 = np.stack([p[1] for p in parts])
    v01 = np.stack([p[2] for p in parts])
    cov = np.cov(v10) / v10.shape[1] + np.cov(v01) / v01.shape[1]
    var = float(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    diff = float(aucs[0] - aucs[1])
    se = math.sqrt(max(var, 0.0))
    if se < 1e-12:
        z, p = 0.0, 1.0 if abs(diff) < 1e-12 else 0.0
    else:
        z = diff / se
        p = float(2 * norm.sf(abs(z)))
    return {
        "auc_a": float(aucs[0]),
        "auc_b": float(aucs[1]),
        "diff": diff,
        "se": se,
        "z": float(z),
        "p": p,
        "low": diff - 1.959964 * se,
        "high": diff + 1.959964 * se,
    }


def paired_bootstrap(
    y_true: Any, scores_a: Any, scores_b: Any, *, n_boot: int = 2000, seed: int = 0
) -> dict[str, float]:
    """Paired stratified bootstrap of ``AUC(a) - AUC(b)``.

    Returns
    -------
    dict
        ``diff`` (on the full data), ``low, high`` (95% percentile interval), ``p``
        (two-sided, see :data:`BOOTSTRAP_METHOD`), ``n_boot``, ``seed``.
    """
    y, a = as_binary_arrays(y_true, scores_a, probabilities=False, name="scores_a")
    _, b = as_binary_arrays(y_true, scores_b, probabilities=False, name="scores_b")
    require_both_classes(y, "the paired bootstrap")
    rng = np.random.default_rng(seed)
    n_pos, n_neg = int(y.sum()), int((1 - y).sum())
    diffs = np.empty(n_boot)
    chunk = max(1, 2_000_000 // y.size)
    for s in range(0, n_boot, chunk):
        rows = min(chunk, n_boot - s)
        w_pos = _row_counts(rng.integers(0, n_pos, (rows, n_pos)), n_pos)
        w_neg = _row_counts(rng.integers(0, n_neg, (rows, n_neg)), n_neg)
        auc_a = _weighted_aucs(a[y == 1], a[y == 0], w_pos, w_neg)
        auc_b = _weighted_aucs(b[y == 1], b[y == 0], w_pos, w_neg)
        diffs[s : s + rows] = auc_a - auc_b
    full = _delong_parts(a[y == 1], a[y == 0])[0] - _delong_parts(b[y == 1], b[y == 0])[0]
    # (k + 1) / (B + 1): a bootstrap p-value is never exactly 0
    tail = min(np.count_nonzero(diffs <= 0), np.count_nonzero(diffs >= 0))
    p = min(1.0, 2 * (tail + 1) / (n_boot + 1))
    low, high = np.quantile(diffs, [0.025, 0.975])
    return {
        "diff": float(full),
        "low": float(low),
        "high": float(high),
        "p": p,
        "n_boot": n_boot,
        "seed": seed,
    }


def compare_aucs(
    y_true: Any, scores_a: Any, scores_b: Any, *, n_boot: int = 2000, seed: int = 0
) -> dict[str, Any]:
    """Both paired tests in one JSON-ready dict (``delong``, ``bootstrap``, ``methods``)."""
    return {
        "delong": delong_test(y_true, scores_a, scores_b),
        "bootstrap": paired_bootstrap(y_true, scores_a, scores_b, n_boot=n_boot, seed=seed),
        "methods": {"delong": DELONG_METHOD, "bootstrap": BOOTSTRAP_METHOD},
    }
