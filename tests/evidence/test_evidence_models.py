"""Evidence that runs the model: evaluate's evidence files and gallery, the cross-dataset
command and the ablation, end to end on the tiny generated dataset and model."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from skinapp.evidence import ablation, cross_dataset
from skinapp.evidence.gallery import select_gallery


def test_evaluate_writes_evidence_and_a_metadata_free_gallery(tiny_model_dir):
    ev = json.loads((tiny_model_dir / "evidence.json").read_text())
    preds = pd.read_csv(tiny_model_dir / "test_predictions.csv")
    assert ev["n"] == len(preds)
    assert sum(d["n"] for d in ev["diagnoses"]) == len(preds)
    assert {g["variable"] for g in ev["subgroups"]} >= {"dataset"}
    table = pd.read_csv(tiny_model_dir / "gallery" / "gallery.csv")
    assert len(table) == ev["gallery"]["n"] > 0
    for row in table.itertuples():
        for name in (row.photo, row.heatmap):
            data = (tiny_model_dir / "gallery" / name).read_bytes()
            assert data[:2] == b"\xff\xd8" and b"Exif" not in data
    assert "## Diagnoses, grade 1" in (tiny_model_dir / "MODEL_CARD.md").read_text()


def test_gallery_selection_puts_confident_misses_first():
    preds = pd.DataFrame(
        {
            "image_id": list("abcdefgh"),
            "dx": ["mel", "mel", "mel", "nv", "nv", "nv", "mel", "nv"],
            "label": ["malignant"] * 3 + ["benign"] * 3 + ["malignant", "benign"],
            "dataset": ["A"] * 6 + ["PH2", "PH2"],
            "p_malignant": [0.05, 0.3, 0.9, 0.8, 0.1, 0.02, 0.01, 0.99],
        }
    )
    picked = select_gallery(preds, operating=0.4, k=1)
    assert list(picked["kind"]) == [
        "false_negative",
        "false_positive",
        "true_positive",
        "true_negative",
    ]
    assert list(picked["image_id"]) == ["a", "d", "c", "f"]  # most confident of each; no PH2
    assert picked["confidence"].tolist() == pytest.approx([0.95, 0.8, 0.9, 0.98])


def test_cross_dataset_report_by_hand():
    rng = np.random.default_rng(0)
    n = 400
    y = rng.integers(0, 2, n)
    ds = np.where(np.arange(n) < 250, "HAM", "OTHER")
    good = y + rng.normal(0, 0.5, n)
    cand = np.where(ds == "HAM", good, y + rng.normal(0, 2.0, n))  # fails off-distribution
    out = cross_dataset.cross_dataset_report(
        y, ds, {"candidate": cand, "reference": good}, ["HAM"], n_boot=100
    )
    ham, other = ds == "HAM", ds == "OTHER"
    assert out["parts"]["in"]["candidate"]["auc"] == pytest.approx(roc_auc_score(y[ham], cand[ham]))
    assert out["parts"]["out"]["candidate"]["auc"] == pytest.approx(
        roc_auc_score(y[other], cand[other])
    )
    assert out["drop"]["candidate"] == pytest.approx(
        roc_auc_score(y[ham], cand[ham]) - roc_auc_score(y[other], cand[other])
    )
    assert out["drop"]["candidate"] > 0.15
    assert out["paired"]["in"]["delong"]["p"] == pytest.approx(1.0)  # identical on HAM
    assert out["paired"]["out"]["delong"]["p"] < 0.01
    assert set(out["by_dataset"]) == {"HAM", "OTHER"}


def test_cross_dataset_cli_on_tiny_model(tiny_model_dir, tiny_derm, tmp_path):
    import shutil

    # a freshly trained candidate: only model.keras + model_config.json, as skinapp.train leaves
    # it; the command exports it to LiteRT and scores it through the serving path
    candidate = tmp_path / "candidate"
    candidate.mkdir()
    for name in ("model.keras", "model_config.json"):
        shutil.copy(tiny_model_dir / name, candidate / name)
    out = tmp_path / "cross.json"
    argv = [
        "--data",
        str(tiny_derm),
        "--model-dir",
        str(candidate),
        "--reference",
        str(tiny_model_dir),
        "--in-datasets",
        "SYNTH",
        "--n-boot",
        "20",
        "--out",
        str(out),
    ]
    assert cross_dataset.main(argv) == 0
    result = json.loads(out.read_text())
    n_test = int((pd.read_csv(tiny_derm / "metadata.csv")["split"] == "test").sum())
    parts = result["parts"]
    assert parts["in"]["candidate"]["n"] + parts["out"]["candidate"]["n"] == n_test
    assert result["out_datasets"] == ["SYNTH2"]
    # too few test lesions for an AUC: reported as such, not invented
    assert parts["in"]["candidate"]["too_small"] and result["drop"]["candidate"] is None
    assert (candidate / "model.tflite").is_file() and (candidate / "head.npz").is_file()
    assert result["model_version"] is not None


def test_cross_dataset_cli_explains_a_model_trained_on_everything(
    tiny_model_dir, tiny_derm, capsys
):
    argv = ["--data", str(tiny_derm), "--model-dir", str(tiny_model_dir), "--out", "/dev/null"]
    assert cross_dataset.main(argv) == 2
    assert "--in-datasets" in capsys.readouterr().err


def test_crop_to_box():
    image = np.arange(100 * 80 * 3, dtype=np.uint8).reshape(100, 80, 3)
    assert ablation.crop_to_box(image, None, 0.1) is image
    crop = ablation.crop_to_box(image, (10, 20, 40, 50), 0.1)
    assert crop.shape == (60, 48, 3)  # 50 + 2*5 rows, 40 + 2*4 columns
    assert (crop[0, 0] == image[15, 6]).all()
    assert ablation.crop_to_box(image, (0, 0, 80, 100), 0.5).shape == image.shape  # clipped


def test_ablation_variants_through_the_serving_path(tiny_model_dir, tiny_derm):
    from skinapp.serving import Classifier

    meta = pd.read_csv(tiny_derm / "metadata.csv")
    frame = meta[meta["split"] == "val"].reset_index(drop=True)
    clf = Classifier(tiny_model_dir, calibrated=False)
    boxes = [(20, 20, 60, 50)] * (len(frame) - 1) + [None]
    scores = ablation.variant_log_odds(clf, tiny_derm, frame, boxes)
    assert set(scores) == set(ablation.VARIANTS)
    assert all(s.shape == (len(frame),) and np.isfinite(s).all() for s in scores.values())
    from skinapp.evaluate import split_log_odds

    np.testing.assert_allclose(scores["none"], split_log_odds(clf, tiny_derm, frame), atol=1e-5)
    # no box: the crop variant is the whole photo
    assert scores["segmentation_crop"][-1] == pytest.approx(scores["none"][-1], abs=1e-5)


def test_ablation_table_pairs_each_variant_with_none():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    base = y + rng.normal(0, 0.7, 300)
    table = ablation.ablation_table(
        y, {"none": base, "same": base.copy(), "worse": y + rng.normal(0, 3, 300)}, n_boot=200
    )
    assert "delta_vs_none" not in table["none"]
    assert table["same"]["delta_vs_none"] == 0 and table["same"]["p_bootstrap"] == 1.0
    assert table["worse"]["delta_ci95"][1] < 0 and table["worse"]["p_delong"] < 0.01
