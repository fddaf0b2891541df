"""Per-diagnosis, confirmed-subset and per-subgroup results from ``test_predictions.csv``.

Pure functions of a predictions frame (one row per test image with ``dx``, ``label``,
``p_malignant`` and, where known, ``dx_type``, ``dataset``, ``age``, ``sex``,
``localization``) and the grade thresholds; nothing is re-run through the model.

Definitions
-----------
- *sensitivity at the operating point*: share of a malignant diagnosis with
  ``p >= operating`` (called malignant); *sensitivity at t1*: share with ``p >= t1`` (not put
  in grade 1, i.e. not reassured).
- *grade shares*: grade 1 ``p < t1``, grade 2 ``t1 <= p < t2``, grade 3 ``p >= t2``.
- *subgroup AUC*: ROC AUC of the calibrated probability inside the subgroup with a stratified
  bootstrap 95% CI (:func:`skinapp.model.metrics.roc_auc_with_ci`). A subgroup is *too small*
  when it has fewer than ``MIN_CLASS_COUNT`` malignant or benign lesions, and *below overall*
  when its whole CI lies under the overall test AUC.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from skinapp.model.metrics import MIN_CLASS_COUNT, roc_auc_with_ci

MALIGNANT_ORDER = ("mel", "bcc", "akiec")
BENIGN_ORDER = ("nv", "bkl", "df", "vasc")
AGE_BANDS = ((0, 30, "<30"), (30, 45, "30-44"), (45, 60, "45-59"), (60, 75, "60-74"))
SUBGROUP_COLUMNS = ("dataset", "age_band", "sex", "localization")
UNKNOWN = "unknown"


def _y(frame: pd.DataFrame) -> np.ndarray:
    return (frame["label"].to_numpy() == "malignant").astype(np.int64)


def age_band(age: Any) -> str:
    """``"<30"``, ``"30-44"``, ``"45-59"``, ``"60-74"``, ``"75+"`` or ``"unknown"``."""
    try:
        a = float(age)
    except (TypeError, ValueError):
        return UNKNOWN
    if not np.isfinite(a):
        return UNKNOWN
    for low, high, name in AGE_BANDS:
        if low <= a < high:
            return name
    return "75+"


def _dx_order(dx: pd.Series) -> list[str]:
    known = [d for d in (*MALIGNANT_ORDER, *BENIGN_ORDER) if d in set(dx)]
    return known + sorted(set(dx) - set(known))


def diagnosis_table(preds: pd.DataFrame, thresholds: Mapping[str, float]) -> pd.DataFrame:
    """One row per diagnosis: counts per grade, grade shares, and the sensitivities.

    Columns: ``dx, label, n, grade1, grade2, grade3`` (counts), ``share_grade1..3``,
    ``called_malignant`` (share with ``p >= operating``), ``sensitivity_operating`` and
    ``sensitivity_t1`` (malignant diagnoses only; NaN for benign ones).
    """
    p = preds["p_malignant"].to_numpy(float)
    t1, t2, op = (float(thresholds[k]) for k in ("t1", "t2", "operating"))
    grade = np.where(p < t1, 1, np.where(p < t2, 2, 3))
    rows = []
    for dx in _dx_order(preds["dx"]):
        sel = (preds["dx"] == dx).to_numpy()
        n = int(sel.sum())
        label = str(preds.loc[sel, "label"].iloc[0])
        counts = [int((grade[sel] == g).sum()) for g in (1, 2, 3)]
        called = float((p[sel] >= op).mean())
        malignant = label == "malignant"
        rows.append(
            {
                "dx": dx,
                "label": label,
                "n": n,
                **{f"grade{g}": c for g, c in zip((1, 2, 3), counts, strict=True)},
                **{f"share_grade{g}": c / n for g, c in zip((1, 2, 3), counts, strict=True)},
                "called_malignant": called,
                "sensitivity_operating": called if malignant else np.nan,
                "sensitivity_t1": float((p[sel] >= t1).mean()) if malignant else np.nan,
            }
        )
    return pd.DataFrame(rows)


def _auc_or_note(y: np.ndarray, s: np.ndarray, n_boot: int, seed: int) -> dict[str, Any]:
    n_pos, n_neg = int(y.sum()), int(y.size - y.sum())
    out: dict[str, Any] = {"n": int(y.size), "n_malignant": n_pos}
    if min(n_pos, n_neg) < MIN_CLASS_COUNT:
        out.update(auc=None, low=None, high=None, too_small=True)
        return out
    ci = roc_auc_with_ci(y, s, n_boot=n_boot, seed=seed)
    out.update(auc=ci.auc, low=ci.low, high=ci.high, too_small=False)
    return out


def melanoma_vs_rest(preds: pd.DataFrame, *, n_boot: int = 2000, seed: int = 0) -> dict:
    """ROC AUC of the malignancy probability for melanoma against every other test lesion,
    and against benign lesions only (bcc and akiec left out)."""
    s = preds["p_malignant"].to_numpy(float)
    mel = (preds["dx"] == "mel").to_numpy()
    benign = (preds["label"] == "benign").to_numpy()
    keep = mel | benign
    return {
        "vs_rest": _auc_or_note(mel.astype(int), s, n_boot, seed),
        "vs_benign": _auc_or_note(mel[keep].astype(int), s[keep], n_boot, seed),
        "score": "calibrated probability of malignancy (the model has no melanoma-only output "
        "in test_predictions.csv)",
    }


def subset_summary(
    preds: pd.DataFrame, thresholds: Mapping[str, float], *, n_boot: int = 2000, seed: int = 0
) -> dict[str, Any]:
    """AUC (CI), sensitivity/specificity at the operating point and at t1, mel sensitivity."""
    y, p = _y(preds), preds["p_malignant"].to_numpy(float)
    op, t1 = float(thresholds["operating"]), float(thresholds["t1"])
    out = _auc_or_note(y, p, n_boot, seed)
    mel = (preds["dx"] == "mel").to_numpy()

    def share(mask: np.ndarray, value: np.ndarray) -> float | None:
        return float(value[mask].mean()) if mask.any() else None

    out.update(
        sensitivity_operating=share(y == 1, p >= op),
        specificity_operating=share(y == 0, p < op),
        sensitivity_t1=share(y == 1, p >= t1),
        melanoma_sensitivity_t1=share(mel, p >= t1),
        n_melanoma=int(mel.sum()),
    )
    return out


def confirmed_subsets(
    preds: pd.DataFrame, thresholds: Mapping[str, float], *, n_boot: int = 2000, seed: int = 0
) -> dict[str, Any]:
    """``all`` labels beside the histopathology-confirmed subset (``dx_type == histo``)."""
    out = {"all": subset_summary(preds, thresholds, n_boot=n_boot, seed=seed)}
    if "dx_type" in preds.columns:
        histo = preds[preds["dx_type"] == "histo"]
        out["histo"] = (
            subset_summary(histo, thresholds, n_boot=n_boot, seed=seed)
            if len(histo)
            else {"n": 0, "n_malignant": 0, "auc": None, "too_small": True}
        )
    return out


def subgroup_frame(preds: pd.DataFrame) -> pd.DataFrame:
    """The grouping columns, missing values as ``"unknown"``, plus ``age_band``."""
    out = pd.DataFrame(index=preds.index)
    for col in SUBGROUP_COLUMNS:
        if col == "age_band":
            out[col] = preds["age"].map(age_band) if "age" in preds else UNKNOWN
        elif col in preds:
            out[col] = preds[col].fillna(UNKNOWN).astype(str).replace("", UNKNOWN)
    return out


def _group_order(name: str) -> tuple[int, int, str]:
    """Sort key: age bands in age order, then names alphabetically, ``unknown`` last."""
    bands = [b[2] for b in AGE_BANDS] + ["75+"]
    return (name == UNKNOWN, bands.index(name) if name in bands else -1, name)


def subgroup_table(
    preds: pd.DataFrame,
    thresholds: Mapping[str, float],
    overall_auc: float,
    *,
    n_boot: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """ROC AUC with CI per subgroup of dataset, age band, sex and body site.

    Columns: ``variable, group, n, n_malignant, auc, low, high, sensitivity, specificity``
    (at the operating point), ``too_small``, ``below_overall`` (CI high < ``overall_auc``).
    """
    y, p = _y(preds), preds["p_malignant"].to_numpy(float)
    op = float(thresholds["operating"])
    groups = subgroup_frame(preds)
    rows = []
    for col in groups.columns:
        for name in sorted(groups[col].unique(), key=_group_order):
            sel = (groups[col] == name).to_numpy()
            ys, ps = y[sel], p[sel]
            row = {"variable": col, "group": name, **_auc_or_note(ys, ps, n_boot, seed)}
            row["sensitivity"] = float((ps[ys == 1] >= op).mean()) if ys.any() else None
            row["specificity"] = float((ps[ys == 0] < op).mean()) if (ys == 0).any() else None
            row["below_overall"] = bool(row["high"] is not None and row["high"] < overall_auc)
            rows.append(row)
    columns = ["variable", "group", "n", "n_malignant", "auc", "low", "high"]
    return pd.DataFrame(rows)[
        [*columns, "sensitivity", "specificity", "too_small", "below_overall"]
    ]
