"""Tests for skinapp.vision.hair (DullRazor-style hair removal)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from skinapp.errors import InvalidImageError
from skinapp.io import read_image
from skinapp.vision.hair import (
    MAX_WORK_SIDE,
    HairRemovalParams,
    HairRemovalResult,
    detect_hair,
    remove_hair,
)

SAMPLES = Path(__file__).resolve().parents[2] / "skinapp" / "samples"
SKIN = (205, 150, 125)
HAIR = (45, 35, 30)
LESION = (90, 55, 45)


def skin(height: int = 168, width: int = 224) -> np.ndarray:
    """Flat skin with mild noise, like a clean dermoscopy background."""
    rng = np.random.default_rng(0)
    return np.clip(rng.normal(SKIN, 3, (height, width, 3)), 0, 255).astype(np.uint8)


def line_mask(shape, start, end, thickness) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    cv2.line(mask, start, end, 1, thickness)
    return mask.astype(bool)


def paint(image: np.ndarray, mask: np.ndarray, colour) -> np.ndarray:
    out = image.copy()
    out[mask] = colour
    return out


def disc(shape, centre, radius) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    cv2.circle(mask, centre, radius, 1, -1)
    return mask.astype(bool)


def skin_error(image: np.ndarray, where: np.ndarray) -> float:
    """Mean absolute difference from the skin colour over ``where``."""
    return float(np.abs(image[where].astype(float) - SKIN).mean())


# === Invariants ===

PARAMS = [
    HairRemovalParams(),
    HairRemovalParams(kernel_shape="ellipse", inpaint_method="ns", dilate=0),
    HairRemovalParams(kernel_shape="rect", kernel_size=31, min_elongation=1.0, dilate=3),
    HairRemovalParams(enabled=False),
]


@pytest.mark.parametrize("shape", [(168, 224), (64, 48), (1, 1), (600, 900)])
@pytest.mark.parametrize("params", PARAMS, ids=["default", "ellipse-ns", "rect-big", "off"])
def test_invariants(params, shape):
    image = paint(skin(*shape), line_mask(shape, (0, 0), (shape[1], shape[0]), 2), HAIR)
    before = image.copy()
    result = remove_hair(image, params)
    assert isinstance(result, HairRemovalResult)
    assert result.image.shape == image.shape and result.image.dtype == np.uint8
    assert result.mask.shape == shape and result.mask.dtype == bool
    np.testing.assert_array_equal(image, before)  # input unchanged
    assert not np.shares_memory(result.image, image)
    np.testing.assert_array_equal(result.image[~result.mask], image[~result.mask])
    np.testing.assert_array_equal(detect_hair(image, params), result.mask)


def test_disabled_is_a_no_op():
    image = paint(skin(), line_mask((168, 224), (0, 80), (223, 90), 2), HAIR)
    image_out, mask = remove_hair(image, HairRemovalParams(enabled=False))
    np.testing.assert_array_equal(image_out, image)
    assert not mask.any()


@pytest.mark.parametrize("bad", [np.zeros((8, 8), np.uint8), np.zeros((8, 8, 3), np.float64)])
def test_rejects_non_images(bad):
    with pytest.raises(InvalidImageError):
        remove_hair(bad)
    with pytest.raises(InvalidImageError):
        detect_hair(bad)


@settings(max_examples=25, deadline=None)
@given(
    image=hnp.arrays(
        np.uint8,
        st.tuples(st.integers(1, 80), st.integers(1, 80), st.just(3)),
        elements=st.integers(0, 255),
    ),
    params=st.sampled_from(PARAMS),
)
def test_property_any_size(image, params):
    before = image.copy()
    result = remove_hair(image, params)
    assert result.image.shape == image.shape and result.image.dtype == np.uint8
    assert result.mask.shape == image.shape[:2]
    np.testing.assert_array_equal(image, before)
    np.testing.assert_array_equal(result.image[~result.mask], image[~result.mask])


# === Known answers ===


@pytest.mark.parametrize(
    ("start", "end", "thickness"),
    [((0, 30), (223, 140), 2), ((110, 0), (110, 167), 1), ((10, 160), (200, 5), 3)],
)
def test_thin_dark_line_is_detected_and_removed(start, end, thickness):
    hair = line_mask((168, 224), start, end, thickness)
    image = paint(skin(), hair, HAIR)
    result = remove_hair(image)
    assert result.mask[hair].mean() > 0.98
    assert result.mask.mean() < 4 * hair.mean()  # and not much else
    assert skin_error(result.image, hair) < 8
    assert skin_error(image, hair) > 100


def test_large_dark_disc_is_not_hair():
    lesion = disc((168, 224), (112, 84), 40)
    image = paint(skin(), lesion, LESION)
    result = remove_hair(image)
    assert result.mask[lesion].mean() < 0.01
    np.testing.assert_array_equal(result.image[lesion], image[lesion])


def test_hair_over_a_lesion_is_removed_and_the_lesion_kept():
    lesion = disc((168, 224), (112, 84), 45)
    hair = line_mask((168, 224), (0, 20), (223, 150), 2)
    image = paint(paint(skin(), lesion, LESION), hair, HAIR)
    result = remove_hair(image)
    on_skin = hair & ~lesion
    assert result.mask[on_skin].mean() > 0.95
    assert skin_error(result.image, on_skin) < 10
    untouched = lesion & ~cv2.dilate(hair.astype(np.uint8), np.ones((9, 9))).astype(bool)
    assert result.mask[untouched].mean() < 0.01


def test_round_dots_are_kept_unless_elongation_filter_is_off():
    dots = np.zeros((168, 224), bool)
    for x in range(20, 220, 25):
        for y in (40, 120):
            dots |= disc(dots.shape, (x, y), 3)  # dots/globules: 7 px, below the kernel
    hair = line_mask(dots.shape, (0, 80), (223, 84), 2)
    image = paint(paint(skin(), dots, HAIR), hair, HAIR)
    kept = detect_hair(image)
    unfiltered = detect_hair(image, HairRemovalParams(min_elongation=1.0))
    assert kept[hair].mean() > 0.98 and unfiltered[hair].mean() > 0.98
    assert kept[dots].mean() < 0.02
    assert unfiltered[dots].mean() > 0.9  # what black-hat alone would erase


def test_faint_lines_below_threshold_are_ignored():
    hair = line_mask((168, 224), (0, 30), (223, 140), 2)
    faint = paint(skin(), hair, np.subtract(SKIN, 12))
    assert not detect_hair(faint).any()
    assert detect_hair(faint, HairRemovalParams(threshold=5))[hair].mean() > 0.9


def test_same_hairs_found_at_any_resolution():
    hair = line_mask((168, 224), (0, 30), (223, 140), 2)
    small = paint(skin(), hair, HAIR)
    large = cv2.resize(small, (1024, 768), interpolation=cv2.INTER_LINEAR)
    assert max(large.shape) > MAX_WORK_SIDE  # exercises the working-resolution path
    mask_large = detect_hair(large)
    mask_back = cv2.resize(mask_large.astype(np.uint8), (224, 168), cv2.INTER_AREA) > 0
    mask_small = detect_hair(small)
    iou = (mask_back & mask_small).sum() / (mask_back | mask_small).sum()
    assert iou > 0.6
    big_hair = cv2.resize(hair.astype(np.uint8), (1024, 768), cv2.INTER_NEAREST).astype(bool)
    assert skin_error(remove_hair(large).image, big_hair) < 10


def test_real_hairy_sample():
    image = read_image(SAMPLES / "ISIC_0000180.jpg")  # two long dark hairs over a nevus
    result = remove_hair(image)
    assert 0.005 < result.mask.mean() < 0.08
    grey = lambda rgb: cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(float)  # noqa: E731
    assert grey(result.image)[result.mask].mean() > grey(image)[result.mask].mean() + 15


# === Parameters ===

INVALID = [
    {"enabled": 1},
    {"kernel_shape": "line"},
    {"kernel_size": 8},
    {"kernel_size": 1},
    {"kernel_size": 33},
    {"kernel_size": 9.0},
    {"threshold": 0},
    {"threshold": 101},
    {"min_elongation": 0.5},
    {"min_elongation": "3"},
    {"dilate": -1},
    {"dilate": 4},
    {"inpaint_method": "biharmonic"},
    {"inpaint_radius": 0},
    {"inpaint_radius": 11},
]


@pytest.mark.parametrize(
    "kwargs", INVALID, ids=[f"{k}={v!r}" for d in INVALID for k, v in d.items()]
)
def test_invalid_parameter(kwargs):
    (name,) = kwargs
    with pytest.raises(ValueError, match=f"Received: `{name}="):
        HairRemovalParams(**kwargs)


def test_params_are_frozen_and_fully_described():
    params = HairRemovalParams()
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.__setattr__("kernel_size", 3)
    for f in dataclasses.fields(HairRemovalParams):
        meta = f.metadata["ui"]
        assert meta["help"] and "\n" not in meta["help"]
        default = getattr(params, f.name)
        if meta["choices"] is not None:
            assert default in meta["choices"]
        elif not isinstance(default, bool):
            assert meta["min"] <= default <= meta["max"]
