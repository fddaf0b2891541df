"""Tests for skinapp.vision.measure (segmentation and hair-removal scores)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from skinapp.vision import measure

# === Metrics ===


def test_jaccard_and_dice_known_values():
    a = np.zeros((10, 10), bool)
    b = np.zeros((10, 10), bool)
    a[:, :5] = True  # 50 px
    b[:, 3:8] = True  # 50 px, 20 shared
    assert measure.jaccard(a, b) == pytest.approx(20 / 80)
    assert measure.dice(a, b) == pytest.approx(40 / 100)
    assert measure.jaccard(a, a) == 1.0 and measure.dice(a, ~a) == 0.0
    empty = np.zeros((4, 4), bool)
    assert measure.jaccard(empty, empty) == 1.0 and measure.dice(empty, empty) == 1.0


def test_psnr_known_value():
    ref = np.full((8, 8, 3), 100, np.uint8)
    img = ref.copy()
    img[0, 0, 0] = 110  # MSE = 100 / 192
    assert measure.psnr(img, ref) == pytest.approx(10 * np.log10(255**2 / (100 / 192)))
    assert measure.psnr(ref, ref) == float("inf")
    where = np.zeros((8, 8), bool)
    where[0, 0] = True
    assert measure.psnr(img, ref, where) == pytest.approx(10 * np.log10(255**2 / (100 / 3)))


def test_summarize():
    scores = pd.DataFrame({"jaccard": [1.0, 0.5, 0.8, 0.6], "dice": [1.0, 0.6, 0.9, 0.7]})
    s = measure.summarize(scores)
    assert s["n"] == 4 and s["mean_jaccard"] == pytest.approx(0.725)
    assert s["share_jaccard_below_0.65"] == 0.5
    assert s["thresholded_jaccard"] == pytest.approx((1.0 + 0.8) / 4)
    assert measure.summarize(scores.head(0)) == {"n": 0}


def test_paint_hairs_is_seeded_and_matches_mask():
    image = np.full((168, 224, 3), 200, np.uint8)
    hairy, mask = measure.paint_hairs(image, np.random.default_rng(3))
    again, mask2 = measure.paint_hairs(image, np.random.default_rng(3))
    np.testing.assert_array_equal(hairy, again)
    np.testing.assert_array_equal(mask, mask2)
    assert mask.any() and (hairy[mask] < 120).all()
    np.testing.assert_array_equal(hairy[~mask], image[~mask])
    assert (image == 200).all()  # input unchanged


# === End to end on the tiny derm-layout dataset (conftest.tiny_derm) ===


def test_main_writes_metrics(tiny_derm, tmp_path):
    out = tmp_path / "metrics.json"
    argv = ["--data", str(tiny_derm), "--out", str(out), "--hair-images", "6", "--jobs", "1"]
    assert measure.main(argv) == 0
    report = json.loads(out.read_text())
    assert report["command"].startswith("python -m skinapp.vision.measure --data")
    assert report["date"] and report["segment_params"]["work_size"] > 0
    for key in ("without_hair_removal", "with_hair_removal"):
        seg = report["segmentation"][key]
        assert seg["all"]["n"] == 36 and seg["test"]["n"] == 12
        assert seg["train_val"]["n"] == 24
        assert set(seg["by_dataset"]) == {"SYNTH", "SYNTH2"}
        assert set(seg["by_split"]) == {"train", "val", "test"}
        assert 0.7 < seg["all"]["mean_jaccard"] <= 1.0
        assert 0 <= seg["all"]["mean_dice"] <= 1.0
        assert seg["timing_ms_per_image"]["mean"] > 0
    hair = report["hair_removal"]
    assert hair["n_images"] == 6
    for key in ("strict", "tolerance_1px"):
        assert 0 <= hair[key]["f1"] <= 1
    assert hair["tolerance_1px"]["recall"] >= hair["strict"]["recall"]
    psnr = hair["psnr_db"]
    assert psnr["restored_vs_original"] > psnr["hairy_vs_original"]


def test_two_jobs_give_the_same_scores(tiny_derm):
    one, scores_one = measure.measure_segmentation(tiny_derm, jobs=1, limit=12)
    two, scores_two = measure.measure_segmentation(tiny_derm, jobs=2, limit=12)
    assert one["without_hair_removal"]["all"] == two["without_hair_removal"]["all"]
    pd.testing.assert_series_equal(scores_one["plain_jaccard"], scores_two["plain_jaccard"])


def test_missing_metadata_exits_2(tmp_path):
    assert measure.main(["--data", str(tmp_path), "--out", str(tmp_path / "m.json")]) == 2


def test_the_model_card_follows_the_models_segmentation_file(tmp_path):
    models = Path(__file__).resolve().parents[2] / "models"
    for name in ("metrics.json", "model_config.json"):
        shutil.copy(models / name, tmp_path / name)
    seg = {
        "command": "python -m skinapp.vision.measure X",
        "segmentation": {"learned": {"test": {"n": 3, "mean_jaccard": 0.9}}},
    }
    other = tmp_path / "elsewhere.json"
    other.write_text(json.dumps(seg))
    measure._refresh_card(other, tmp_path)  # not the file the card reads: no card
    assert not (tmp_path / "MODEL_CARD.md").exists()
    out = tmp_path / measure.CARD_FILE_NAME
    out.write_text(json.dumps(seg))
    measure._refresh_card(out, tmp_path)
    card = (tmp_path / "MODEL_CARD.md").read_text()
    assert "| learned (MobileNetV2 U-Net, shipped) | 3 | 0.900 |" in card
