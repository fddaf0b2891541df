"""Checked label and score arrays: the one input check of every metric, calibration and grade fit.

Pure numpy (no scikit-learn or scipy), so that the modules the app imports to *apply* a fitted
calibration or grade stay light; :mod:`skinapp.model.metrics` re-exports both functions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["as_binary_arrays", "require_both_classes"]


def as_binary_arrays(
    y_true: Any, scores: Any, *, probabilities: bool = True, name: str = "p"
) -> tuple[np.ndarray, np.ndarray]:
    """Validate and convert labels and scores to 1-D numpy arrays.

    Parameters
    ----------
    y_true : (N,) array_like
        Labels in ``{0, 1}`` (bool, int or float holding 0/1).
    scores : (N,) array_like
        Finite real scores.
    probabilities : bool
        If True, scores must also lie in ``[0, 1]``.
    name : str
        Name of ``scores`` used in error messages.

    Returns
    -------
    y : (N,) ndarray of int64 in {0, 1}
    s : (N,) ndarray of float64

    Raises
    ------
    ValueError
        On empty input, mismatched lengths, non-binary labels, non-finite or (when
        ``probabilities``) out-of-range scores.
    """
    y = np.asarray(y_true)
    s = np.asarray(scores, dtype=np.float64)
    if y.ndim != 1 or s.ndim != 1:
        raise ValueError(
            f"Expected 1-D labels and scores. Received: `y_true.shape={y.shape}`, "
            f"`{name}.shape={s.shape}`"
        )
    if y.shape[0] != s.shape[0]:
        raise ValueError(
            f"Labels and scores must have the same length. Received: `len(y_true)={y.shape[0]}`, "
            f"`len({name})={s.shape[0]}`"
        )
    if y.shape[0] == 0:
        raise ValueError("Expected at least one sample. Received: `len(y_true)=0`")
    values = np.unique(y)
    if not np.isin(values, [0, 1]).all():
        raise ValueError(
            f"Labels must be 0 (benign) or 1 (malignant). Received: `unique(y_true)={values[:10]}`"
        )
    if not np.isfinite(s).all():
        raise ValueError(
            f"Scores must be finite. Received: `{name}` with "
            f"{int((~np.isfinite(s)).sum())} NaN/inf values"
        )
    if probabilities and (s.min() < 0.0 or s.max() > 1.0):
        raise ValueError(
            f"Probabilities must lie in [0, 1]. "
            f"Received: `{name}` in [{s.min():.4g}, {s.max():.4g}]"
        )
    return y.astype(np.int64), s


def require_both_classes(y: np.ndarray, what: str) -> None:
    """Raise ``ValueError`` unless the ``(N,)`` labels ``y`` contain both 0 and 1."""
    n_pos = int(y.sum())
    if n_pos == 0 or n_pos == y.shape[0]:
        raise ValueError(
            f"{what} needs both benign and malignant lesions. "
            f"Received: `n_malignant={n_pos}`, `n_benign={y.shape[0] - n_pos}`"
        )
