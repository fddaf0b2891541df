"""What a probability threshold means on the test split, in counts and plain words.

Pure functions of ``test_predictions.csv`` (one calibrated probability per held-out test
lesion, written by ``python -m skinapp.evaluate``): every Dashboard view that follows the
threshold slider (the figures, the confusion matrix, the sentences) reads them, so they
cannot disagree. A lesion is called malignant when ``p >= threshold``, as in
:mod:`skinapp.model.grading`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

__all__ = ["confusion_at", "counts_at", "grade_sentence", "threshold_sentence"]


def counts_at(predictions: pd.DataFrame, threshold: float) -> dict[str, Any]:
    """Confusion counts, sensitivity and specificity when ``p >= threshold`` is malignant.

    Parameters
    ----------
    predictions : DataFrame
        ``test_predictions.csv``: columns ``label`` ("benign"/"malignant") and
        ``p_malignant``.
    threshold : float
        Probability cut-off in [0, 1].

    Returns
    -------
    dict
        ``threshold, tp, fp, tn, fn, n_malignant, n_benign, sensitivity, specificity``
        (rates None when a class is absent).

    Examples
    --------
    >>> frame = pd.DataFrame({"label": ["malignant", "malignant", "benign", "benign"],
    ...                       "p_malignant": [0.9, 0.2, 0.3, 0.1]})
    >>> c = counts_at(frame, 0.25)
    >>> (c["tp"], c["fn"], c["fp"], c["tn"], c["sensitivity"], c["specificity"])
    (1, 1, 1, 1, 0.5, 0.5)
    """
    malignant = predictions["label"].astype(str).eq("malignant").to_numpy()
    called = (predictions["p_malignant"].astype(float) >= float(threshold)).to_numpy()
    tp, fn = int((malignant & called).sum()), int((malignant & ~called).sum())
    fp, tn = int((~malignant & called).sum()), int((~malignant & ~called).sum())
    n_mal, n_ben = tp + fn, fp + tn
    return {
        "threshold": float(threshold),
        "tp": tp,
        "fp": fp,
        "tn": tn,
        "fn": fn,
        "n_malignant": n_mal,
        "n_benign": n_ben,
        "sensitivity": tp / n_mal if n_mal else None,
        "specificity": tn / n_ben if n_ben else None,
    }


def confusion_at(counts: Mapping[str, Any]) -> dict[str, Any]:
    """``counts_at``'s result in ``confusion.json``'s layout (rows truth, columns call)."""
    return {
        "labels": ["benign", "malignant"],
        "threshold": counts["threshold"],
        "matrix": [[counts["tn"], counts["fp"]], [counts["fn"], counts["tp"]]],
    }


def _per100(rate: float | None) -> str:
    return "?" if rate is None else f"{round(100 * rate)}"


def threshold_sentence(counts: Mapping[str, Any]) -> str:
    """The threshold in plain words, per 100 test lesions of each kind.

    Examples
    --------
    >>> threshold_sentence({"threshold": 0.2, "sensitivity": 0.9, "specificity": 0.75,
    ...                     "n_malignant": 10, "n_benign": 40})
    'At p ≥ 0.200: of 100 malignant lesions, 90 would be flagged and 10 missed; of 100 benign lesions, 25 would be flagged needlessly (false alarms) and 75 cleared. (Test split: 10 malignant, 40 benign lesions.)'
    """  # noqa: E501
    sens, spec = counts["sensitivity"], counts["specificity"]
    missed = None if sens is None else 1 - sens
    alarms = None if spec is None else 1 - spec
    return (
        f"At p ≥ {counts['threshold']:.3f}: of 100 malignant lesions, {_per100(sens)} would be "
        f"flagged and {_per100(missed)} missed; of 100 benign lesions, {_per100(alarms)} would "
        f"be flagged needlessly (false alarms) and {_per100(spec)} cleared. (Test split: "
        f"{counts['n_malignant']} malignant, {counts['n_benign']} benign lesions.)"
    )


def grade_sentence(predictions: pd.DataFrame, t1: float, t2: float) -> str:
    """The shipped grades in plain words: malignant lesions out of grade 1, benign out of 3.

    Examples
    --------
    >>> frame = pd.DataFrame({"label": ["malignant"] * 4 + ["benign"] * 4,
    ...                       "p_malignant": [0.9, 0.5, 0.2, 0.01, 0.6, 0.2, 0.1, 0.01]})
    >>> grade_sentence(frame, 0.1, 0.5)
    'Of 100 malignant lesions, 75 are in grade 2 or 3 (25 in grade 1); of 100 benign lesions, 25 are in grade 3.'
    """  # noqa: E501
    low, high = counts_at(predictions, t1), counts_at(predictions, t2)
    sens = low["sensitivity"]
    return (
        f"Of 100 malignant lesions, {_per100(sens)} are in grade 2 or 3 "
        f"({_per100(None if sens is None else 1 - sens)} in grade 1); of 100 benign lesions, "
        f"{_per100(None if high['specificity'] is None else 1 - high['specificity'])} are in "
        "grade 3."
    )
