"""End-to-end tests for skinapp.model.report: files, strict JSON, agreement with sklearn."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    confusion_matrix,
    roc_auc_score,
)

from skinapp.errors import ModelLoadError
from skinapp.model.calibration import Calibration
from skinapp.model.grading import GradeThresholds, assign_grade
from skinapp.model.report import load_calibration, write_evaluation

FILES = (
    "metrics.json",
    "calibration.json",
    "roc.csv",
    "pr.csv",
    "calibration.csv",
    "confusion.json",
    "grades.csv",
)


def make_split(n: int, seed: int, t0: float = 2.5):
    """Overconfident logits (true temperature ``t0``), labels and a source dataset per lesion."""
    rng = np.random.default_rng(seed)
    z0 = rng.normal(0.0, 1.5, n) - 0.8
    y = (rng.random(n) < expit(z0)).astype(int)
    groups = pd.Series(rng.choice(["ham10000", "isic2019", "derm7pt"], n, p=[0.5, 0.4, 0.1]))
    return y, t0 * z0, groups


def load_strict(path):
    """Parse JSON, failing on NaN / Infinity."""

    def reject(token):
        raise ValueError(f"non-finite JSON token {token}")

    return json.loads(path.read_text(), parse_constant=reject)


@pytest.fixture(scope="module")
def evaluation(tmp_path_factory):
    out = tmp_path_factory.mktemp("eval")
    val, test = make_split(800, seed=0), make_split(700, seed=1)
    metrics = write_evaluation(
        out, val=val, test=test, n_boot=200, seed=0, extra={"model": "mobilenet_v2-test"}
    )
    return out, metrics, val, test


def test_every_file_exists_and_json_is_strict(evaluation):
    out, metrics, _, _ = evaluation
    for name in FILES:
        assert (out / name).is_file(), name
    for name in ("metrics.json", "calibration.json", "confusion.json"):
        load_strict(out / name)
    assert load_strict(out / "metrics.json") == metrics


def test_metrics_json_content(evaluation):
    _, metrics, val, test = evaluation
    assert metrics["n"]["val"]["n"] == val[0].size
    assert metrics["n"]["test"]["n_malignant"] == test[0].sum()
    assert metrics["headline_split"] == "test"
    assert "optimistic" in metrics["val"]["note"]
    assert metrics["created"]
    assert metrics["extra"] == {"model": "mobilenet_v2-test"}
    assert set(metrics["test"]["by_group"]) == {"ham10000", "isic2019", "derm7pt"}
    assert metrics["calibration"]["temperature"] == pytest.approx(2.5, rel=0.25)
    # Calibration helps the overconfident logits on unseen data.
    assert metrics["test"]["ece"] < metrics["test"]["uncalibrated"]["ece"]
    assert metrics["val"]["sensitivity_at_t1"] >= 0.95
    assert metrics["val"]["specificity_at_t2"] >= 0.90
    assert "ece" in metrics["definitions"] and "roc_auc_ci" in metrics["definitions"]


def test_numbers_agree_with_sklearn(evaluation):
    out, metrics, _, (y, logits, groups) = evaluation
    cal, th = load_calibration(out)
    p = cal.apply(logits)
    test = metrics["test"]
    assert test["roc_auc"]["auc"] == pytest.approx(roc_auc_score(y, p))
    assert test["pr_auc"] == pytest.approx(average_precision_score(y, p))
    assert test["brier"] == pytest.approx(brier_score_loss(y, p))
    assert test["uncalibrated"]["brier"] == pytest.approx(brier_score_loss(y, expit(logits)))
    cm = confusion_matrix(y, (p >= th.operating).astype(int), labels=[0, 1]).tolist()
    assert load_strict(out / "confusion.json")["matrix"] == cm
    mask = (groups == "isic2019").to_numpy()
    assert test["by_group"]["isic2019"]["roc_auc"]["auc"] == pytest.approx(
        roc_auc_score(y[mask], p[mask])
    )


def test_csv_files(evaluation):
    out, _, _, (y, logits, _) = evaluation
    roc, pr = pd.read_csv(out / "roc.csv"), pd.read_csv(out / "pr.csv")
    assert list(roc.columns) == ["threshold", "fpr", "tpr"]
    assert list(pr.columns) == ["threshold", "precision", "recall"]
    assert np.isfinite(roc.to_numpy()).all() and np.isfinite(pr.to_numpy()).all()
    cal = pd.read_csv(out / "calibration.csv")
    assert set(cal["probability"]) == {"uncalibrated", "calibrated"}
    assert (cal.groupby("probability")["count"].sum() == y.size).all()
    grades = pd.read_csv(out / "grades.csv")
    assert grades["grade"].tolist() == [1, 2, 3]
    assert grades["n"].sum() == y.size
    assert grades["meaning"].str.len().gt(0).all()
    cal_obj, th = load_calibration(out)
    counts = np.bincount(assign_grade(cal_obj.apply(logits), th), minlength=4)[1:]
    assert grades["n"].tolist() == counts.tolist()


def test_load_calibration_round_trip(evaluation):
    out, metrics, _, _ = evaluation
    cal, th = load_calibration(out)
    assert isinstance(cal, Calibration) and isinstance(th, GradeThresholds)
    assert cal.to_dict() == metrics["calibration"]
    assert th.t1 == metrics["thresholds"]["t1"] and th.t2 == metrics["thresholds"]["t2"]
    assert th.operating == metrics["thresholds"]["operating"]


def test_hand_made_case_with_platt_and_no_groups(tmp_path):
    # Small, fully specified splits (10+ lesions per class so the AUC is reported).
    y_val = np.array([0] * 12 + [1] * 12)
    z_val = np.r_[
        [-3, -2.5, -2, -1.8, -1.5, -1, -0.8, -0.5, 0.2, 0.4, 1.0, 1.5],
        [-1.2, -0.3, 0.1, 0.6, 0.9, 1.2, 1.6, 2.0, 2.2, 2.8, 3.1, 4.0],
    ]
    y_test = np.array([0] * 10 + [1] * 10)
    z_test = np.r_[
        [-2.8, -2.1, -1.7, -1.1, -0.9, -0.2, 0.3, 0.5, 1.1, 2.1],
        [-0.7, 0.0, 0.4, 0.8, 1.3, 1.7, 2.4, 2.9, 3.3, 3.6],
    ]
    metrics = write_evaluation(
        tmp_path, val=(y_val, z_val), test=(y_test, z_test), calibration_method="platt", n_boot=100
    )
    cal, th = load_calibration(tmp_path)
    assert cal.method == "platt"
    p = cal.apply(z_test)
    test = metrics["test"]
    assert test["roc_auc"]["auc"] == pytest.approx(roc_auc_score(y_test, z_test))
    assert test["pr_auc"] == pytest.approx(average_precision_score(y_test, p))
    assert test["brier"] == pytest.approx(brier_score_loss(y_test, p))
    tn, fp, fn, tp = confusion_matrix(y_test, p >= th.operating).ravel()
    m = test["threshold_metrics"]
    assert (m["tn"], m["fp"], m["fn"], m["tp"]) == (tn, fp, fn, tp)
    assert "by_group" not in test
    for name in FILES:
        assert (tmp_path / name).is_file()


def test_write_evaluation_rejects_bad_splits(tmp_path):
    y, z, _ = make_split(50, seed=2)
    with pytest.raises(ValueError, match="Received:"):
        write_evaluation(tmp_path, val=(y,), test=(y, z))
    with pytest.raises(ValueError, match="both"):
        write_evaluation(tmp_path, val=(np.zeros(50, int), z), test=(y, z))


def test_load_calibration_errors(tmp_path):
    with pytest.raises(ModelLoadError, match=r"skinapp\.evaluate"):
        load_calibration(tmp_path)
    (tmp_path / "calibration.json").write_text("{not json")
    with pytest.raises(ModelLoadError, match="invalid"):
        load_calibration(tmp_path)
    bad = {
        "calibration": {"method": "temperature", "temperature": 1.0, "a": 1.0, "b": 0.0},
        "thresholds": {"t1": 0.8, "t2": 0.2, "operating": 0.5},
    }
    (tmp_path / "calibration.json").write_text(json.dumps(bad))
    with pytest.raises(ModelLoadError, match="t1"):
        load_calibration(tmp_path)
    (tmp_path / "calibration.json").write_text(json.dumps({**bad, "schema_version": 99}))
    with pytest.raises(ModelLoadError, match="schema_version"):
        load_calibration(tmp_path)
