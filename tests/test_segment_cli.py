"""Tests for ``python -m skinapp.segment`` (batch lesion masks)."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from skinapp import segment as cli

SAMPLES = Path(__file__).resolve().parent.parent / "skinapp" / "samples"


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    """A folder with a real sample, a text file named .jpg and a subfolder with a PNG."""
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    samples = sorted(SAMPLES.glob("*.jpg"))
    shutil.copy(samples[0], folder / "lesion.jpg")
    (folder / "notes.jpg").write_text("not an image, just text\n")
    image = cv2.imread(str(samples[1]))
    cv2.imwrite(str(folder / "sub" / "other.png"), image)
    return folder


def read_mask(path: Path) -> np.ndarray:
    mask = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert mask is not None and mask.dtype == np.uint8 and mask.ndim == 2
    return mask


def test_folder_with_bad_file_and_subfolder(inputs, tmp_path, capsys):
    out = tmp_path / "masks"
    assert cli.main([str(inputs), "--out", str(out), "--no-progress"]) == 0
    err = capsys.readouterr().err
    skipped = [line for line in err.splitlines() if line.startswith("skipped")]
    assert len(skipped) == 1 and "notes.jpg" in skipped[0] and "text file" in skipped[0]
    assert sorted(p.name for p in out.glob("*.png")) == ["lesion.png", "other.png"]
    for name, source in (("lesion", inputs / "lesion.jpg"), ("other", inputs / "sub/other.png")):
        mask = read_mask(out / f"{name}.png")
        height, width = cv2.imread(str(source)).shape[:2]
        assert mask.shape == (height, width)
        assert set(np.unique(mask)) <= {0, 255} and (mask == 255).any()
    config = json.loads((out / "config.json").read_text())
    assert config["counts"]["segmented"] == 2 and config["counts"]["unreadable"] == 1
    assert config["hair_removal"] is cli.HAIR_REMOVAL_DEFAULT


def test_mask_follows_exif_orientation(tmp_path):
    rgb = cv2.cvtColor(cv2.imread(str(sorted(SAMPLES.glob("*.jpg"))[0])), cv2.COLOR_BGR2RGB)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise when displayed
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", exif=exif)
    (tmp_path / "rotated.jpeg").write_bytes(buffer.getvalue())
    out = tmp_path / "out"
    assert cli.main([str(tmp_path / "rotated.jpeg"), "--out", str(out), "--no-progress"]) == 0
    assert read_mask(out / "rotated.png").shape == (rgb.shape[1], rgb.shape[0])


def test_only_bad_files_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"")
    code = cli.main([str(bad), str(tmp_path / "missing.png"), "--out", str(tmp_path / "o")])
    assert code == 2
    err = capsys.readouterr().err
    assert "bad.jpg" in err and "missing.png" in err


def test_no_hair_removal_flag_and_name_clash(tmp_path):
    sample = sorted(SAMPLES.glob("*.jpg"))[0]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    shutil.copy(sample, tmp_path / "a" / "x.jpg")
    shutil.copy(sample, tmp_path / "b" / "x.jpg")
    out = tmp_path / "out"
    argv = [str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(out), "--no-hair-removal"]
    assert cli.main([*argv, "--no-progress"]) == 0
    assert sorted(p.name for p in out.glob("*.png")) == ["x.png", "x_2.png"]
    assert json.loads((out / "config.json").read_text())["hair_removal"] is False


def test_output_folder_inside_input_is_not_read(inputs):
    out = inputs / "masks"
    assert cli.main([str(inputs), "--out", str(out), "--no-progress"]) == 0
    assert cli.main([str(inputs), "--out", str(out), "--no-progress"]) == 0
    assert sorted(p.name for p in out.glob("*.png")) == ["lesion.png", "other.png"]


def test_blank_image_gets_empty_mask(tmp_path):
    blank = np.full((120, 160, 3), (140, 160, 205), np.uint8)  # BGR skin
    cv2.imwrite(str(tmp_path / "blank.png"), blank)
    out = tmp_path / "out"
    assert cli.main([str(tmp_path / "blank.png"), "--out", str(out), "--no-progress"]) == 0
    mask = read_mask(out / "blank.png")
    assert mask.shape == (120, 160) and not mask.any()


def test_parser_defaults():
    args = cli.build_parser().parse_args(["x.jpg", "--out", "d"])
    assert args.hair_removal is cli.HAIR_REMOVAL_DEFAULT and args.paths == ["x.jpg"]
