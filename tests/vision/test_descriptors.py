"""Tests for skinapp.vision.descriptors (ABCD measurements)."""

from __future__ import annotations

import json
import math

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skinapp.errors import InvalidImageError
from skinapp.vision.descriptors import REFERENCE_COLORS, Descriptors, describe_lesion

SKIN = (205, 160, 140)
SHAPE = (200, 240)


def skin(shape=SHAPE) -> np.ndarray:
    return np.full((*shape, 3), SKIN, np.uint8)


def disc(radius: int, centre=(120, 100), shape=SHAPE) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    cv2.circle(mask, centre, radius, 1, -1)
    return mask.astype(bool)


def half_disc(radius: int = 60, shape=SHAPE) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    cv2.ellipse(mask, (120, 70), (radius, radius), 0, 0, 180, 1, -1)
    return mask.astype(bool)


def star(r_out: int = 80, r_in: int = 30, shape=SHAPE) -> np.ndarray:
    angles = np.arange(10) * np.pi / 5
    radii = np.where(np.arange(10) % 2 == 0, r_out, r_in)
    points = np.stack([120 + radii * np.cos(angles), 100 + radii * np.sin(angles)], axis=1)
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(points).astype(np.int32)], 1)
    return mask.astype(bool)


def painted(mask: np.ndarray, colour) -> np.ndarray:
    image = skin(mask.shape)
    image[mask] = colour
    return image


# === Known answers ===


@pytest.mark.parametrize("radius", [20, 40, 80])
def test_disc_is_symmetric_and_compact(radius):
    d = describe_lesion(skin(), disc(radius, shape=SHAPE))
    assert d.asymmetry < 0.03 and d.asymmetry_major < 0.03 and d.asymmetry_minor < 0.03
    assert d.compactness == pytest.approx(1.0, abs=0.06)
    assert d.area_px == int(disc(radius).sum())


@pytest.mark.parametrize("radius", [10, 25, 60])
def test_disc_diameter_is_twice_the_radius(radius):
    d = describe_lesion(skin(), disc(radius))
    assert d.diameter_px == pytest.approx(2 * radius, abs=1.0)
    assert d.major_axis_px == pytest.approx(2 * radius, rel=0.03)
    assert d.diameter_mm is None and d.area_mm2 is None


def test_millimetres():
    d = describe_lesion(skin(), disc(50), mm_per_pixel=0.05)
    assert d.mm_per_pixel == 0.05
    assert d.diameter_mm == pytest.approx(5.0, abs=0.05)
    assert d.area_mm2 == pytest.approx(d.area_px * 0.05**2, rel=1e-3)
    assert d.major_axis_mm == pytest.approx(d.major_axis_px * 0.05, rel=1e-3)


def test_half_disc_is_asymmetric_about_one_axis():
    d = describe_lesion(skin(), half_disc())
    # Folded across the flat side's parallel axis, about 19 % has no mirror image
    # (analytically 1 - overlap for a half disc); across the other axis it is symmetric.
    assert max(d.asymmetry_major, d.asymmetry_minor) > 0.15
    assert min(d.asymmetry_major, d.asymmetry_minor) < 0.03
    assert d.asymmetry > describe_lesion(skin(), disc(60)).asymmetry + 0.05


def test_irregular_shape_is_asymmetric():
    mask = disc(40)
    mask |= disc(20, centre=(165, 100))  # a bump on one side
    mask |= disc(25, centre=(110, 140))  # and another below
    d = describe_lesion(skin(), mask)
    assert d.asymmetry_major > 0.05 and d.asymmetry_minor > 0.05


def test_star_has_higher_compactness_and_fractal_dimension_than_disc():
    d_star = describe_lesion(skin(), star())
    d_disc = describe_lesion(skin(), disc(70))
    assert d_star.compactness > 1.8 * d_disc.compactness
    assert d_disc.fractal_dimension == pytest.approx(1.0, abs=0.1)
    assert d_star.fractal_dimension is not None


def test_rough_border_has_higher_fractal_dimension():
    rng = np.random.default_rng(0)
    angles = np.linspace(0, 2 * np.pi, 400, endpoint=False)
    radii = 70 + rng.normal(0, 8, angles.size)
    points = np.stack([120 + radii * np.cos(angles), 100 + radii * np.sin(angles)], axis=1)
    mask = np.zeros(SHAPE, np.uint8)
    cv2.fillPoly(mask, [np.round(points).astype(np.int32)], 1)
    rough = describe_lesion(skin(), mask.astype(bool))
    smooth = describe_lesion(skin(), disc(70))
    assert rough.fractal_dimension > smooth.fractal_dimension + 0.05
    assert rough.compactness > smooth.compactness


def test_single_dark_brown_lesion_has_one_colour():
    mask = disc(50)
    d = describe_lesion(painted(mask, REFERENCE_COLORS["dark_brown"]), mask)
    assert d.colors == ("dark_brown",) and d.color_count == 1
    assert d.color_shares["dark_brown"] == pytest.approx(1.0)


def test_realistic_dark_brown_with_noise_has_one_colour():
    mask = disc(50)
    rng = np.random.default_rng(1)
    image = painted(mask, (95, 60, 40)).astype(np.int16) + rng.integers(-8, 9, (*SHAPE, 3))
    d = describe_lesion(np.clip(image, 0, 255).astype(np.uint8), mask)
    assert d.colors == ("dark_brown",)


def test_multicoloured_lesion_counts_each_colour():
    mask = disc(60)
    image = skin()
    thirds = np.array_split(np.nonzero(mask.ravel())[0], 3)
    flat = image.reshape(-1, 3)
    for part, name in zip(thirds, ["black", "blue_gray", "light_brown"], strict=True):
        flat[part] = REFERENCE_COLORS[name]
    flat[thirds[0][:10]] = REFERENCE_COLORS["red"]  # a few red pixels: below 5 %
    d = describe_lesion(image, mask)
    assert d.colors == ("light_brown", "blue_gray", "black")
    assert d.color_count == 3 and d.color_shares["red"] < 0.05


def test_skin_coloured_rim_is_not_a_colour():
    mask = disc(50)
    core = disc(35)
    image = painted(core, REFERENCE_COLORS["dark_brown"])  # the mask's rim is plain skin
    d = describe_lesion(image, mask)
    assert d.colors == ("dark_brown",)


def test_to_dict_is_json_ready():
    d = describe_lesion(skin(), disc(30), mm_per_pixel=0.1)
    data = d.to_dict()
    assert isinstance(d, Descriptors)
    assert set(data) >= {"asymmetry", "compactness", "fractal_dimension", "colors", "diameter_mm"}
    assert json.loads(json.dumps(data)) == data


def test_uses_largest_piece_for_shape():
    mask = disc(40)
    mask |= disc(3, centre=(10, 10))  # a speck far away
    d = describe_lesion(skin(), mask)
    assert d.diameter_px == pytest.approx(80, abs=1.0)
    assert d.area_px == int(mask.sum())


def test_small_lesion_has_no_fractal_dimension():
    d = describe_lesion(skin(), disc(4))
    assert d.fractal_dimension is None
    assert math.isfinite(d.compactness)


def test_input_unchanged():
    mask = disc(30)
    image = painted(mask, (100, 60, 40))
    before_image, before_mask = image.copy(), mask.copy()
    describe_lesion(image, mask)
    np.testing.assert_array_equal(image, before_image)
    np.testing.assert_array_equal(mask, before_mask)


# === Invalid input ===


def test_empty_mask():
    with pytest.raises(ValueError, match="empty"):
        describe_lesion(skin(), np.zeros(SHAPE, bool))


def test_mask_of_wrong_size():
    with pytest.raises(ValueError, match="Received"):
        describe_lesion(skin(), np.ones((10, 10), bool))


@pytest.mark.parametrize("scale", [0, -0.1, float("nan"), "0.1", True])
def test_bad_scale(scale):
    with pytest.raises(ValueError, match="mm_per_pixel"):
        describe_lesion(skin(), disc(10), mm_per_pixel=scale)


def test_bad_image():
    with pytest.raises(InvalidImageError):
        describe_lesion(np.zeros(SHAPE, np.uint8), disc(10))


# === Property ===


@settings(max_examples=15, deadline=None)
@given(
    height=st.integers(1, 150),
    width=st.integers(1, 150),
    seed=st.integers(0, 2**16),
)
def test_any_mask(height, width, seed):
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    mask = rng.random((height, width)) < rng.uniform(0.05, 0.9)
    mask[height // 2, width // 2] = True
    d = describe_lesion(image, mask)
    assert 0.0 <= d.asymmetry_major <= 1.0 and 0.0 <= d.asymmetry_minor <= 1.0
    assert d.compactness > 0 and d.diameter_px >= 0
    assert 0 <= d.color_count <= 6 and sum(d.color_shares.values()) <= 1.0 + 1e-6
    assert d.area_px == int(mask.sum())
