"""The committed model files agree with each other.

``models/metrics.json``, ``models/MODEL_CARD.md`` and ``models/test_predictions.csv`` are
written together by ``python -m skinapp.evaluate`` (and the card again by the evidence
commands). Whoever regenerates one must regenerate the others: these checks compare the
files with each other, never with today's numbers, so they hold for any retrained model.
AUC and ECE are recomputed here from the predictions without skinapp's metric code.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from skinapp.model.card import load_evidence_files, render_model_card
from skinapp.serving import DEFAULT_MODEL_DIR

MODELS = DEFAULT_MODEL_DIR
#: The predictions are written with 5 decimals: metrics recomputed from them agree to ~1e-5.
ROUNDING = 1e-5

pytestmark = pytest.mark.skipif(
    not (MODELS / "metrics.json").is_file(), reason=f"no evaluated model in {MODELS}"
)


@pytest.fixture(scope="module")
def metrics() -> dict:
    return json.loads((MODELS / "metrics.json").read_text())


@pytest.fixture(scope="module")
def predictions() -> pd.DataFrame:
    return pd.read_csv(MODELS / "test_predictions.csv")


@pytest.fixture(scope="module")
def labels_and_p(predictions) -> tuple[np.ndarray, np.ndarray]:
    assert set(predictions["label"]) <= {"benign", "malignant"}
    y = (predictions["label"] == "malignant").to_numpy(int)
    return y, predictions["p_malignant"].to_numpy(float)


def reference_ece(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> float:
    """sum_b n_b/N |frac_pos_b - p_mean_b| over bins [b/B, (b+1)/B), the last one closed."""
    bins = np.minimum((p * n_bins).astype(int), n_bins - 1)
    total = 0.0
    for b in range(n_bins):
        inside = bins == b
        if inside.any():
            total += inside.mean() * abs(y[inside].mean() - p[inside].mean())
    return total


def test_card_is_the_rendering_of_the_committed_json(metrics):
    # The same inputs as skinapp.model.card.write_model_card.
    config = json.loads((MODELS / "model_config.json").read_text())
    ablation_path = MODELS / "preprocessing_ablation.json"
    ablation = json.loads(ablation_path.read_text()) if ablation_path.is_file() else None
    rendered = render_model_card(metrics, config, ablation, load_evidence_files(MODELS))
    committed = (MODELS / "MODEL_CARD.md").read_text()
    assert rendered == committed, (
        "models/MODEL_CARD.md is not the rendering of the committed JSON files: re-run "
        "`python -m skinapp.evaluate ...` (or the evidence command that changed them)"
    )


def test_metrics_describe_the_committed_model(metrics):
    digest = hashlib.sha256((MODELS / "model.tflite").read_bytes()).hexdigest()
    assert metrics["extra"]["model_version"] == digest[:12], "metrics.json is for another model"


def test_predictions_are_the_evaluated_test_split(metrics, predictions, labels_and_p):
    y, p = labels_and_p
    test = metrics["test"]
    assert predictions["image_id"].is_unique
    assert (len(y), int(y.sum())) == (test["n"], test["n_malignant"])
    assert np.all((p >= 0) & (p <= 1))


def test_auc_recomputed_from_the_predictions(metrics, labels_and_p):
    y, p = labels_and_p
    assert roc_auc_score(y, p) == pytest.approx(
        metrics["test"]["roc_auc"]["auc"], abs=10 * ROUNDING
    )


def test_ece_recomputed_from_the_predictions(metrics, labels_and_p):
    y, p = labels_and_p
    assert reference_ece(y, p) == pytest.approx(metrics["test"]["ece"], abs=10 * ROUNDING)


def test_confusion_matrix_and_grades_recomputed_from_the_predictions(
    metrics, predictions, labels_and_p
):
    y, p = labels_and_p
    th = metrics["thresholds"]

    def near(t: float) -> int:
        """Predictions within rounding of a threshold may fall on either side of it."""
        return int(np.sum(np.abs(p - t) <= ROUNDING))

    called = p >= th["operating"]
    (tn, fp), (fn, tp) = metrics["test"]["confusion_matrix"]["matrix"]
    got = {"tp": np.sum(called & (y == 1)), "fp": np.sum(called & (y == 0))}
    got |= {"fn": np.sum(~called & (y == 1)), "tn": np.sum(~called & (y == 0))}
    for name, want in {"tp": tp, "fp": fp, "fn": fn, "tn": tn}.items():
        assert abs(int(got[name]) - want) <= near(th["operating"]), name

    grades = predictions["grade"].to_numpy(int)
    expected = np.where(p < th["t1"], 1, np.where(p >= th["t2"], 3, 2))
    assert np.sum(grades != expected) <= near(th["t1"]) + near(th["t2"])
    counts = {row["grade"]: row["n"] for row in metrics["test"]["grades"]}
    assert counts == {g: int(np.sum(grades == g)) for g in (1, 2, 3)}
