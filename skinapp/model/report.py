"""Evaluation report: calibrate on validation, grade, measure on test, write the files.

:func:`write_evaluation` is the whole protocol in one call:

1. fit the calibration (temperature or Platt) on the validation logits;
2. choose the grade thresholds on the calibrated validation probabilities;
3. measure everything on the test split with calibrated probabilities (the headline
   numbers), overall and per source dataset; validation numbers are reported too, labelled
   as such (they are optimistic: the calibration and thresholds were fitted on them).

Files written to ``out_dir``:

=====================  ==================================================================
``metrics.json``       everything (test, val, thresholds, calibration, n, date, definitions)
``calibration.json``   the :class:`Calibration` and :class:`GradeThresholds` (read by the
                       app and ``predict`` through :func:`load_calibration`)
``roc.csv``            test ROC curve: ``threshold, fpr, tpr``
``pr.csv``             test precision-recall curve: ``threshold, precision, recall``
``calibration.csv``    test reliability table before and after calibration
``confusion.json``     test confusion matrix at the operating threshold, overall and per group
``grades.csv``         test lesions and malignancy rate per grade
=====================  ==================================================================
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from skinapp.model.calibration import (
    CALIBRATION_FILE,
    SCHEMA_VERSION,
    Calibration,
    apply_temperature,
    fit_calibration,
    load_calibration,
)
from skinapp.model.grading import (
    GRADE_DISCLAIMER,
    GRADE_TEXT,
    THRESHOLD_RULES,
    GradeThresholds,
    choose_thresholds,
    grade_table,
    sensitivity_at_t1,
    specificity_at_t2,
)
from skinapp.model.metrics import (
    CI_METHOD,
    ECE_DEFINITION,
    as_binary_arrays,
    brier_score,
    calibration_table,
    curves,
    expected_calibration_error,
    summarize,
)

logger = logging.getLogger(__name__)

__all__ = ["CALIBRATION_FILE", "SCHEMA_VERSION", "load_calibration", "write_evaluation"]


VAL_NOTE = (
    "Validation split: the calibration and the grade thresholds were fitted on it, so these "
    "numbers are optimistic. Report the test numbers."
)


# === JSON helpers ===


def _jsonable(obj: Any) -> Any:
    """Recursively convert numpy / pandas values to builtins; NaN and inf become None."""
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, pd.DataFrame):
        return _jsonable(obj.to_dict(orient="records"))
    if isinstance(obj, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    return obj


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(_jsonable(data), indent=2, allow_nan=False) + "\n")


# === Splits ===


def _unpack(split: Sequence[Any], name: str) -> tuple[np.ndarray, np.ndarray, Any]:
    """``(y, logits[, groups])`` -> validated ``(y, logits, groups or None)``."""
    if len(split) not in (2, 3):
        raise ValueError(
            f"`{name}` must be (y, logits) or (y, logits, groups). "
            f"Received: a sequence of length {len(split)}"
        )
    y, logits = as_binary_arrays(split[0], split[1], probabilities=False, name=f"{name} logits")
    groups = split[2] if len(split) == 3 else None
    return y, logits, groups


def _split_report(
    y: np.ndarray,
    logits: np.ndarray,
    groups: Any,
    calibration: Calibration,
    thresholds: GradeThresholds,
    *,
    n_boot: int,
    seed: int,
) -> dict[str, Any]:
    """Calibrated summary, uncalibrated calibration error, and grades of one split."""
    p = calibration.apply(logits)
    p_raw = apply_temperature(logits, 1.0)
    out = summarize(y, p, thresholds.operating, groups=groups, n_boot=n_boot, seed=seed)
    out["uncalibrated"] = {
        "brier": brier_score(y, p_raw),
        "ece": expected_calibration_error(y, p_raw),
    }
    out["sensitivity_at_t1"] = sensitivity_at_t1(y, p, thresholds.t1)
    out["specificity_at_t2"] = specificity_at_t2(y, p, thresholds.t2)
    out["grades"] = grade_table(y, p, thresholds)
    return out


# === Files ===


def _calibration_csv(y: np.ndarray, logits: np.ndarray, calibration: Calibration) -> pd.DataFrame:
    before = calibration_table(y, apply_temperature(logits, 1.0))
    after = calibration_table(y, calibration.apply(logits))
    return pd.concat(
        [before.assign(probability="uncalibrated"), after.assign(probability="calibrated")],
        ignore_index=True,
    )[["probability", "bin", "bin_low", "bin_high", "p_mean", "frac_pos", "count"]]


def _confusion_json(test: dict[str, Any]) -> dict[str, Any]:
    by_group = test.get("by_group", {})
    return {
        "split": "test",
        "probability": "calibrated",
        **test["confusion_matrix"],
        "by_group": {name: block["confusion_matrix"] for name, block in by_group.items()},
    }


def write_evaluation(
    out_dir: str | Path,
    *,
    val: Sequence[Any],
    test: Sequence[Any],
    calibration_method: str = "temperature",
    n_boot: int = 2000,
    seed: int = 0,
    extra: dict[str, Any] | None = None,
    min_sensitivity: float = 0.95,
    min_specificity: float = 0.90,
) -> dict[str, Any]:
    """Calibrate on validation, choose grade thresholds, evaluate on test, write all files.

    Parameters
    ----------
    out_dir : str or Path
        Created if missing; existing files of the same names are overwritten.
    val, test : tuple
        ``(y, logits, groups)`` (or ``(y, logits)``): ``(N,)`` labels in {0, 1}, ``(N,)``
        finite malignancy logits, and ``(N,)`` group names (e.g. source dataset) or None.
        Each split needs both classes.
    calibration_method : {"temperature", "platt"}
    n_boot, seed : int
        Bootstrap resamples and seed for the AUC intervals.
    extra : dict, optional
        JSON-serialisable context stored under ``"extra"`` (model id, data version, ...).
    min_sensitivity, min_specificity : float
        Targets of the grade thresholds (see :func:`~skinapp.model.grading.choose_thresholds`).

    Returns
    -------
    dict
        The content of ``metrics.json``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    y_val, z_val, g_val = _unpack(val, "val")
    y_test, z_test, g_test = _unpack(test, "test")

    calibration = fit_calibration(z_val, y_val, calibration_method)
    thresholds = choose_thresholds(
        y_val,
        calibration.apply(z_val),
        min_sensitivity=min_sensitivity,
        min_specificity=min_specificity,
    )
    common = {"n_boot": n_boot, "seed": seed}
    test_report = _split_report(y_test, z_test, g_test, calibration, thresholds, **common)
    val_report = _split_report(y_val, z_val, g_val, calibration, thresholds, **common)
    val_report["note"] = VAL_NOTE

    created = datetime.now(UTC).isoformat(timespec="seconds")
    rule = {"min_sensitivity": min_sensitivity, "min_specificity": min_specificity}
    metrics: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "created": created,
        "disclaimer": GRADE_DISCLAIMER,
        "headline_split": "test",
        "n": {
            "val": {"n": int(y_val.size), "n_malignant": int(y_val.sum())},
            "test": {"n": int(y_test.size), "n_malignant": int(y_test.sum())},
        },
        "calibration": calibration.to_dict(),
        "thresholds": {**thresholds.to_dict(), **rule, "rules": THRESHOLD_RULES},
        "grade_text": GRADE_TEXT,
        "definitions": {
            "probability": (
                "calibrated probability of malignancy unless under 'uncalibrated' "
                "(sigmoid of the raw logit); malignant when p >= thresholds.operating"
            ),
            "ece": ECE_DEFINITION,
            "roc_auc_ci": CI_METHOD,
            "pr_auc": "average precision (scikit-learn average_precision_score)",
            "brier": "mean squared error of p against the 0/1 label",
        },
        "test": test_report,
        "val": val_report,
        "extra": extra or {},
    }
    metrics = _jsonable(metrics)

    test_curves = curves(y_test, calibration.apply(z_test))
    _write_json(out / "metrics.json", metrics)
    _write_json(
        out / CALIBRATION_FILE,
        {
            "schema_version": SCHEMA_VERSION,
            "created": created,
            "calibration": calibration.to_dict(),
            "thresholds": thresholds.to_dict(),
            "threshold_targets": rule,
            "grade_text": GRADE_TEXT,
            "disclaimer": GRADE_DISCLAIMER,
        },
    )
    test_curves["roc"].to_csv(out / "roc.csv", index=False)
    test_curves["pr"].to_csv(out / "pr.csv", index=False)
    _calibration_csv(y_test, z_test, calibration).to_csv(out / "calibration.csv", index=False)
    _write_json(out / "confusion.json", _confusion_json(metrics["test"]))
    grades = grade_table(y_test, calibration.apply(z_test), thresholds)
    grades.assign(meaning=grades["grade"].map(GRADE_TEXT)).to_csv(out / "grades.csv", index=False)
    logger.info(
        "Wrote evaluation to %s (val n=%d, test n=%d, test AUC=%s)",
        out,
        y_val.size,
        y_test.size,
        (metrics["test"]["roc_auc"] or {}).get("auc"),
    )
    return metrics
