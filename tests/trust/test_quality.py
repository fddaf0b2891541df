"""Image-quality checks on generated images: each known defect is caught, a good photo passes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from skinapp.errors import InvalidImageError
from skinapp.trust import degrade
from skinapp.trust.quality import (
    CHECK_NAMES,
    border_cut_fraction,
    check_quality,
    focus_measure,
    lesion_area_fraction,
)
from skinapp.vision.segment import segment_lesion


def _lesion(size=(168, 224), seed=0) -> tuple[np.ndarray, np.ndarray]:
    """A textured pinkish skin with a brown, mottled lesion in the middle, and its mask."""
    rng = np.random.default_rng(seed)
    h, w = size
    image = np.empty((h, w, 3), np.float32)
    image[:] = (205, 160, 140)
    mask = np.zeros((h, w), np.uint8)
    cv2.ellipse(mask, (w // 2, h // 2), (w // 6, h // 5), 20, 0, 360, 1, -1)
    image[mask.astype(bool)] = (120, 75, 55)
    image += rng.normal(0, 12, image.shape)  # skin texture and pigment network
    return np.clip(image, 0, 255).astype(np.uint8), mask.astype(bool)


@pytest.fixture(scope="module")
def lesion():
    return _lesion()


def test_sharp_lesion_passes_every_check(lesion):
    image, mask = lesion
    report = check_quality(image, mask)
    assert [c.name for c in report.checks] == list(CHECK_NAMES)
    assert report.ok, report.messages
    assert report.messages == ()


def test_blurred_copy_fails_focus_only(lesion):
    image, mask = lesion
    report = check_quality(degrade.gaussian_blur(image, 2.5), mask)
    assert not report["focus"].passed
    assert "out of focus" in report["focus"].message
    assert [c.name for c in report.failed] == ["focus"]


def test_black_image_fails_exposure():
    report = check_quality(np.zeros((100, 120, 3), np.uint8))
    assert not report["exposure"].passed
    assert "too dark" in report["exposure"].message


@pytest.mark.parametrize("value", [3.0, 0.2])
def test_strong_gamma_fails_exposure(lesion, value):
    report = check_quality(degrade.gamma(lesion[0], value), lesion[1])
    assert not report["exposure"].passed


def test_blown_out_image_fails_exposure():
    report = check_quality(np.full((80, 80, 3), 255, np.uint8))
    assert "overexposed" in report["exposure"].message


def test_lesion_cut_by_the_border_is_flagged(lesion):
    image, mask = lesion
    cropped = degrade.crop_cut(image, mask, 0.5, "right")
    seg = segment_lesion(cropped)
    report = check_quality(cropped, seg.mask)
    assert not report["border"].passed
    assert "cut by the image border" in report["border"].message


def test_small_lesion_is_flagged(lesion):
    small = degrade.zoom_out(lesion[0], 0.15, np.random.default_rng(0))
    report = check_quality(small, segment_lesion(small).mask)
    assert not report["size"].passed
    assert "Move closer" in report["size"].message


def test_blue_cast_is_flagged(lesion):
    report = check_quality(degrade.color_cast(lesion[0], 0.4, "blue"), lesion[1])
    assert not report["color_cast"].passed
    assert "blue cast" in report["color_cast"].message


def test_no_lesion_leaves_the_lesion_checks_undecided(lesion):
    report = check_quality(lesion[0], None)
    assert report["border"].passed and np.isnan(report["border"].value)
    assert report["size"].passed and np.isnan(report["size"].value)


def test_focus_is_judged_at_the_model_scale(lesion):
    image = lesion[0]
    for photo, sharp in ((image, True), (degrade.gaussian_blur(image, 2.5), False)):
        big = cv2.resize(photo, None, fx=4, fy=4, interpolation=cv2.INTER_CUBIC)
        assert check_quality(big)["focus"].passed is sharp
    assert focus_measure(np.full((30, 30, 3), 99, np.uint8)) == 0.0


def test_border_cut_fraction_known_answers():
    inside = np.zeros((50, 50), bool)
    inside[10:40, 10:40] = True
    assert border_cut_fraction(inside) == 0.0
    assert border_cut_fraction(np.ones((20, 20), bool)) == 1.0
    assert border_cut_fraction(np.zeros((20, 20), bool)) == 0.0
    half = np.zeros((100, 100), np.uint8)
    cv2.circle(half, (0, 50), 30, 1, -1)
    assert 0.25 < border_cut_fraction(half.astype(bool)) < 0.5
    assert lesion_area_fraction(inside) == pytest.approx(0.36)


@pytest.mark.parametrize("shape", [(40, 60, 3), (300, 200, 3)])
def test_checks_leave_the_input_alone(shape):
    image = np.random.default_rng(1).integers(0, 256, shape).astype(np.uint8)
    before = image.copy()
    check_quality(image, np.ones(shape[:2], bool))
    assert np.array_equal(image, before)


def test_non_image_is_rejected():
    with pytest.raises(InvalidImageError):
        check_quality(np.zeros((10, 10), np.uint8))
