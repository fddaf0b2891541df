"""The segmenter training CLI end to end on the tiny generated dataset (no ../shared)."""

import json

import cv2
import keras
import numpy as np
import pytest

from skinapp import segment, train_segmenter
from skinapp.vision.learned import LearnedSegmenter, load_segmenter, outline_lesion
from skinapp.vision.segment import SegmentParams

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def seg_run(tiny_derm, tmp_path_factory):
    out = tmp_path_factory.mktemp("seg_run")
    code = train_segmenter.main(
        [
            "--data",
            str(tiny_derm),
            "--out",
            str(out),
            "--backbone-weights",
            "none",
            "--input-size",
            "64",
            "--epochs",
            "2",
            "--batch-size",
            "4",
            "--seed",
            "3",
        ]
    )
    assert code == 0
    return out


def test_training_writes_the_model_its_config_and_history(seg_run):
    for name in ("segmenter.keras", "segmenter.tflite", "segmenter.json", "config.json"):
        assert (seg_run / name).is_file(), name
    info = json.loads((seg_run / "segmenter.json").read_text())
    assert info["input_size"] == 64 and 0.05 <= info["threshold"] <= 0.95
    assert 0 <= info["min_confidence"] <= 1
    config = json.loads((seg_run / "config.json").read_text())
    assert config["config"]["seed"] == 3 and config["config"]["out"] == str(seg_run)
    assert config["n_train"] == 16 and config["n_val"] == 8  # test is never read
    assert len((seg_run / "history.csv").read_text().splitlines()) == 3


def test_litert_segmenter_matches_keras_and_outlines_at_the_photos_size(seg_run, tiny_derm):
    model = keras.saving.load_model(seg_run / "segmenter.keras", compile=False)
    segmenter = load_segmenter(seg_run)
    assert isinstance(segmenter, LearnedSegmenter)
    photo = cv2.imread(str(next((tiny_derm / "images").glob("*.jpg"))))[:, :, ::-1].copy()
    lite = segmenter.probability(photo)
    small = cv2.resize(photo, (64, 64), interpolation=cv2.INTER_AREA)
    ref = np.asarray(model(small[None].astype(np.float32), training=False))[0, ..., 0]
    assert lite.shape == (64, 64)
    np.testing.assert_allclose(lite, ref, atol=5e-3)  # float16 weights
    seg = outline_lesion(photo, SegmentParams(), segmenter)
    assert seg.method == "learned" and seg.mask.shape == photo.shape[:2]


def test_segment_cli_uses_the_learned_model(seg_run, tiny_derm, tmp_path):
    images = sorted((tiny_derm / "images").glob("*.jpg"))[:2]
    out = tmp_path / "masks"
    args = [*map(str, images), "--out", str(out), "--model-dir", str(seg_run), "--no-progress"]
    assert segment.main(args) in (0, 2)
    config = json.loads((out / "config.json").read_text())
    assert config["method"] == "learned"
    for path in images:
        mask = cv2.imread(str(out / f"{path.stem}.png"), cv2.IMREAD_GRAYSCALE)
        assert mask.shape == cv2.imread(str(path)).shape[:2]
        assert set(np.unique(mask)) <= {0, 255}


def test_missing_data_is_a_clear_error(tmp_path, capsys):
    assert train_segmenter.main(["--data", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "metadata.csv" in capsys.readouterr().err


def test_mirror_view_is_the_mean_of_the_photo_and_its_mirror_image(seg_run, tmp_path):
    import shutil

    info = json.loads((seg_run / "segmenter.json").read_text())
    loaded = {}
    for views in (1, 2):
        folder = tmp_path / str(views)
        folder.mkdir()
        shutil.copy(seg_run / "segmenter.tflite", folder / "segmenter.tflite")
        (folder / "segmenter.json").write_text(json.dumps({**info, "views": views}))
        loaded[views] = load_segmenter(folder)
    photo = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    single = loaded[1].probability(photo)
    mirrored = loaded[1].probability(photo[:, ::-1].copy())[:, ::-1]
    np.testing.assert_allclose(loaded[2].probability(photo), (single + mirrored) / 2, atol=1e-5)
