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


def test_no_export_keeps_the_litert_file_and_still_measures_parity(tiny_model_dir, tiny_derm):
    import shutil

    from skinapp import evaluate

    model_dir = tiny_model_dir.parent / "tiny_model_no_export"
    shutil.copytree(tiny_model_dir, model_dir, dirs_exist_ok=True)
    before = (model_dir / "model.tflite").read_bytes()
    argv = ["--data", str(tiny_derm), "--model-dir", str(model_dir), "--n-boot", "20"]
    assert evaluate.main([*argv, "--no-export", "--no-evidence"]) == 0
    assert (model_dir / "model.tflite").read_bytes() == before
    parity = json.loads((model_dir / "metrics.json").read_text())["extra"]["litert_parity"]
    assert parity["n_images"] == 6 and parity["max_abs_diff_probability"] < 1e-3


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


def test_cross_validation_writes_folds_json_and_no_model(tiny_derm, tmp_path):
    out, cache = tmp_path / "cv", tmp_path / "cache"
    argv = ["--data", str(tiny_derm), "--out", str(out), "--cache-dir", str(cache)]
    argv += ["--backbone-weights", "none", "--views", "1", "--head-epochs", "1"]
    argv += ["--finetune-epochs", "1", "--cut-layer", "block_12_add"]
    argv += ["--finetune-from-block", "13", "--batch-size", "8", "--folds", "2"]
    assert train.main(argv) == 0
    summary = json.loads((out / "folds.json").read_text())
    assert summary["folds"] == 2 and len(summary["per_fold"]) == 2
    held = [f["held_out_images"] for f in summary["per_fold"]]
    assert sum(held) == 16  # every training image held out exactly once
    for key in ("held_out_auc", "val_auc"):
        values = [f[key] for f in summary["per_fold"]]
        assert all(0.0 <= v <= 1.0 for v in values)
        assert summary[key]["mean"] == np.mean(values)
        assert summary[key]["sd"] == np.std(values, ddof=1)
    assert not (out / "model.keras").exists()


def test_one_fold_is_refused(tiny_derm, tmp_path, capsys):
    argv = ["--data", str(tiny_derm), "--out", str(tmp_path), "--folds", "1"]
    assert train.main([*argv, "--backbone-weights", "none"]) == 2
    assert "--folds" in capsys.readouterr().err


def test_evaluate_trust_writes_the_trust_files(tiny_model_dir, tiny_derm):
    import shutil

    from skinapp import evaluate
    from skinapp.trust.photometric import load_photometric

    model_dir = tiny_model_dir.parent / "tiny_model_trust"
    shutil.copytree(tiny_model_dir, model_dir, dirs_exist_ok=True)
    argv = ["--data", str(tiny_derm), "--model-dir", str(model_dir), "--n-boot", "20"]
    assert evaluate.main([*argv, "--no-export", "--no-evidence", "--trust", "--differential"]) == 0
    trust = json.loads((model_dir / "trust.json").read_text())
    quality = trust["quality"]
    assert set(quality["degradations"]) >= {"blur_sigma", "gamma_dark", "gamma_bright"}
    assert quality["photometric"]["used"] and "false_alarms_test_jpeg90" in quality
    assert trust["ood"]["against"]["natural_photos"]["n"] == 13
    detector = load_photometric(model_dir / "quality.npz")
    assert detector.model_version == Classifier(model_dir).version
    assert Classifier(model_dir).photometric is not None
    card = (model_dir / "MODEL_CARD.md").read_text()  # re-rendered after the trust files
    assert f"exposure {quality['false_alarms_test']['exposure']:.1%}" in card
    # --differential: fitted on val for both answers, measured on test, quoted by the card
    diff = json.loads((model_dir / "differential.json").read_text())
    assert diff["model_version"] == Classifier(model_dir).version
    assert set(diff) >= {"tta", "single_view"}
    assert 0.0 <= diff["tta"]["test"]["balanced_accuracy"] <= 1.0
    assert "### Differential diagnosis (seven classes)" in card
    assert f"{diff['tta']['test']['balanced_accuracy']:.3f}" in card
    pred = Classifier(model_dir).predict(np.zeros((64, 64, 3), np.uint8), tta=True)
    assert abs(sum(pred.differential.probs.values()) - 1.0) < 1e-9


def test_weight_averaging_runs_every_epoch_and_records_its_choice(tiny_derm, tmp_path):
    out, cache = tmp_path / "swa", tmp_path / "cache"
    argv = ["--data", str(tiny_derm), "--out", str(out), "--cache-dir", str(cache)]
    argv += ["--backbone-weights", "none", "--views", "1", "--head-epochs", "1"]
    argv += ["--finetune-epochs", "3", "--cut-layer", "block_12_add", "--patience", "1"]
    argv += ["--finetune-from-block", "13", "--batch-size", "8", "--average-from", "2"]
    assert train.main(argv) == 0
    run_dir = next(cache.glob("run-*"))
    record = json.loads((run_dir / "average.json").read_text())
    assert record["epochs_averaged"] == 2  # epochs 2 and 3: early stopping is off
    assert record["kept"] == (
        "average" if record["val_auc_average"] >= record["val_auc_last"] else "last"
    )
    history = pd.read_csv(run_dir / "history.csv")
    assert (history["stage"] == "finetune").sum() == 3
    assert (out / "model.keras").exists()


def test_input_size_reaches_the_model_its_config_and_the_cache_key(tiny_derm, tmp_path):
    out, cache = tmp_path / "small", tmp_path / "cache"
    argv = ["--data", str(tiny_derm), "--out", str(out), "--cache-dir", str(cache)]
    argv += ["--backbone-weights", "none", "--views", "1", "--head-epochs", "1"]
    argv += ["--finetune-epochs", "1", "--cut-layer", "block_12_add", "--input-size", "96"]
    argv += ["--finetune-from-block", "13", "--batch-size", "8"]
    assert train.main(argv) == 0
    model = load_keras_model(out / "model.keras")
    assert tuple(model.input.shape[1:]) == (96, 96, 3)
    assert json.loads((out / "model_config.json").read_text())["input"]["size"] == 96
    assert [p.name for p in cache.iterdir() if p.name.startswith("block_12_add")] == [
        "block_12_add-none-96px-s42-l0"
    ]
