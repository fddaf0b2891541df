"""Per-diagnosis, confirmed-subset and subgroup tables agree with hand computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from skinapp.evidence import breakdown
from skinapp.evidence.report import compute_evidence


def _hand_frame() -> pd.DataFrame:
    # t1 = 0.1, t2 = 0.6, operating = 0.4
    return pd.DataFrame(
        {
            "dx": ["mel", "mel", "mel", "mel", "bcc", "nv", "nv", "nv", "bkl"],
            "label": ["malignant"] * 5 + ["benign"] * 4,
            "p_malignant": [0.05, 0.2, 0.5, 0.9, 0.45, 0.01, 0.3, 0.7, 0.15],
            "dx_type": ["histo", "histo", None, "histo", "histo", "histo", None, None, "histo"],
        }
    )


def test_diagnosis_table_by_hand(thresholds):
    table = breakdown.diagnosis_table(_hand_frame(), thresholds).set_index("dx")

    assert list(table.index) == ["mel", "bcc", "nv", "bkl"]  # malignant first, known order
    mel = table.loc["mel"]
    assert (mel["grade1"], mel["grade2"], mel["grade3"]) == (1, 2, 1)
    assert mel["sensitivity_operating"] == pytest.approx(2 / 4)  # 0.5, 0.9 >= 0.4
    assert mel["sensitivity_t1"] == pytest.approx(3 / 4)  # 0.05 is in grade 1
    nv = table.loc["nv"]
    assert (nv["share_grade1"], nv["share_grade2"], nv["share_grade3"]) == pytest.approx(
        (1 / 3, 1 / 3, 1 / 3)
    )
    assert nv["called_malignant"] == pytest.approx(1 / 3)
    assert np.isnan(nv["sensitivity_t1"])


def test_diagnosis_table_matches_the_saved_grades(predictions, thresholds):
    table = breakdown.diagnosis_table(predictions, thresholds).set_index("dx")
    counts = predictions.groupby(["dx", "grade"]).size().unstack(fill_value=0)
    for dx, row in table.iterrows():
        for g in (1, 2, 3):
            assert row[f"grade{g}"] == counts.loc[dx].get(g, 0)
    assert table["n"].sum() == len(predictions)


def test_confirmed_subset_by_hand(thresholds):
    frame = pd.concat([_hand_frame()] * 3, ignore_index=True)  # >= 10 per class in the subset
    out = breakdown.confirmed_subsets(frame, thresholds, n_boot=20)
    histo = frame[frame["dx_type"] == "histo"]
    assert out["histo"]["n"] == len(histo)
    assert out["histo"]["n_malignant"] == int((histo["label"] == "malignant").sum())
    mel = histo[histo["dx"] == "mel"]
    assert out["histo"]["melanoma_sensitivity_t1"] == pytest.approx(
        (mel["p_malignant"] >= 0.1).mean()
    )
    assert out["all"]["sensitivity_operating"] == pytest.approx(
        (frame.loc[frame["label"] == "malignant", "p_malignant"] >= 0.4).mean()
    )


def test_melanoma_vs_rest_auc(predictions):
    out = breakdown.melanoma_vs_rest(predictions, n_boot=20)
    mel = (predictions["dx"] == "mel").to_numpy()
    assert out["vs_rest"]["auc"] == pytest.approx(roc_auc_score(mel, predictions["p_malignant"]))
    benign = (predictions["label"] == "benign").to_numpy()
    keep = mel | benign
    assert out["vs_benign"]["auc"] == pytest.approx(
        roc_auc_score(mel[keep], predictions["p_malignant"][keep])
    )
    assert out["vs_benign"]["n"] == int(keep.sum())


def test_age_bands():
    assert [breakdown.age_band(a) for a in (None, np.nan, "x", 5, 30, 44.9, 59, 74, 75, 90)] == [
        "unknown",
        "unknown",
        "unknown",
        "<30",
        "30-44",
        "30-44",
        "45-59",
        "60-74",
        "75+",
        "75+",
    ]


def test_subgroup_table_by_hand(predictions, thresholds):
    table = breakdown.subgroup_table(predictions, thresholds, overall_auc=0.99, n_boot=50)

    assert set(table["variable"]) == {"dataset", "age_band", "sex", "localization"}
    a = table[(table["variable"] == "dataset") & (table["group"] == "A")].iloc[0]
    sel = predictions["dataset"] == "A"
    y = predictions.loc[sel, "label"] == "malignant"
    assert a["n"] == sel.sum() and a["n_malignant"] == y.sum()
    assert a["auc"] == pytest.approx(roc_auc_score(y, predictions.loc[sel, "p_malignant"]))
    assert a["low"] <= a["auc"] <= a["high"]
    p = predictions.loc[sel, "p_malignant"]
    assert a["sensitivity"] == pytest.approx((p[y] >= 0.4).mean())
    assert a["specificity"] == pytest.approx((p[~y] < 0.4).mean())
    # an overall AUC of 0.99 lies above every CI of this weaker model: flagged
    assert a["below_overall"]
    tiny = table[(table["group"] == "TINY")].iloc[0]
    assert tiny["too_small"] and pd.isna(tiny["auc"]) and not tiny["below_overall"]
    # missing metadata forms its own "unknown" group, listed last
    sexes = list(table.loc[table["variable"] == "sex", "group"])
    assert sexes == ["female", "male", "unknown"]
    ages = list(table.loc[table["variable"] == "age_band", "group"])
    assert ages == ["<30", "30-44", "45-59", "60-74", "75+", "unknown"]


def test_subgroup_not_flagged_when_ci_reaches_overall(predictions, thresholds):
    table = breakdown.subgroup_table(predictions, thresholds, overall_auc=0.5, n_boot=50)
    assert not table["below_overall"].any()


def test_compute_evidence_is_strict_json(predictions, thresholds):
    import json

    ev = compute_evidence(predictions, thresholds, 0.85, n_boot=20)
    text = json.dumps(ev, allow_nan=False)
    assert "diagnoses" in ev and len(ev["subgroups"]) > 4 and "histo" in ev["confirmed"]
    assert json.loads(text)["thresholds"] == thresholds
