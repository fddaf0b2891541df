"""Training and evaluation CLIs end to end on a tiny generated dataset (no ../shared)."""

import json

import numpy as np
import pandas as pd

from skinapp import train
from skinapp.model.export import keras_logits, load_keras_model
from skinapp.model.scores import malignant_log_odds
from skinapp.serving import Classifier

EXPECTED_FILES = [
    "model.keras",
    "model.tflite",
    "head.npz",
    "model_config.json",
    "history.csv",
    "metrics.json",
    "calibration.json",
    "roc.csv",
    "pr.csv",
    "calibration.csv",
    "confusion.json",
    "grades.csv",
    "test_predictions.csv",
    "MODEL_CARD.md",
]


def test_train_and_evaluate_write_every_file(tiny_model_dir):
    for name in EXPECTED_FILES:
        assert (tiny_model_dir / name).is_file(), name
    history = pd.read_csv(tiny_model_dir / "history.csv")
    assert set(history["stage"]) == {"head", "finetune"}
    assert "val_auc" in history.columns


def test_metrics_are_on_the_test_split(tiny_model_dir, tiny_derm):
    metrics = json.loads((tiny_model_dir / "metrics.json").read_text())
    meta = pd.read_csv(tiny_derm / "metadata.csv")
    assert metrics["test"]["n"] == int((meta["split"] == "test").sum())
    assert metrics["val"]["n"] == int((meta["split"] == "val").sum())
    preds = pd.read_csv(tiny_model_dir / "test_predictions.csv")
    assert set(preds["image_id"]) == set(meta.loc[meta["split"] == "test", "image_id"])


def test_model_config_records_classes_and_input(tiny_model_dir):
    config = json.loads((tiny_model_dir / "model_config.json").read_text())
    assert config["classes"] == ["bcc", "bkl", "mel", "nv"]
    assert config["malignant_classes"] == ["bcc", "mel"]
    assert config["input"]["size"] == 224


def test_litert_matches_keras(tiny_model_dir):
    model = load_keras_model(tiny_model_dir / "model.keras")
    images = np.random.default_rng(0).integers(0, 256, (3, 224, 224, 3), dtype=np.uint8)
    lite = Classifier(tiny_model_dir)
    lite_logits, features = lite.run(images)
    np.testing.assert_allclose(lite_logits, keras_logits(model, images), atol=1e-3)
    assert features.shape == (3, 7, 7, 1280)
    mask = lite.malignant_mask
    np.testing.assert_allclose(lite.log_odds(lite_logits), malignant_log_odds(lite_logits, mask))


def test_missing_weights_file_is_a_clear_error(tiny_derm, capsys):
    code = train.main(["--data", str(tiny_derm), "--backbone-weights", "/nope/w.h5"])
    assert code == 2
    assert "backbone weights not found" in capsys.readouterr().err


def test_missing_data_is_a_clear_error(tmp_path, capsys):
    code = train.main(
        ["--data", str(tmp_path), "--backbone-weights", "none", "--cache-dir", str(tmp_path / "c")]
    )
    assert code == 2
    assert "metadata.csv" in capsys.readouterr().err
