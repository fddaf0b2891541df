import dataclasses

import numpy as np
import pytest

from skinapp.model.augment import AugmentParams, augment, dihedral

#: Every random effect switched off: only the dihedral symmetry is left.
NO_OP = AugmentParams(
    max_zoom=1.0, max_shift=0.0, brightness=0.0, contrast=0.0, saturation=0.0, hue=0.0
)
SIZE = 64


@pytest.fixture
def image():
    return np.random.default_rng(0).integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)


def only(**ranges) -> AugmentParams:
    """The no-op parameters with just ``ranges`` switched on."""
    return dataclasses.replace(NO_OP, **ranges)


def square(side: int) -> np.ndarray:
    """Black image with a white ``side`` x ``side`` square in the middle (dihedral-invariant)."""
    out = np.zeros((SIZE, SIZE, 3), np.uint8)
    lo = (SIZE - side) // 2
    out[lo : lo + side, lo : lo + side] = 255
    return out


def bright_box(image: np.ndarray) -> tuple[float, float, float]:
    """Side (sqrt of the bright area) and centre (row, col) of the bright pixels."""
    rows, cols = np.nonzero(image[..., 0] >= 128)
    return float(np.sqrt(rows.size)), float(rows.mean()), float(cols.mean())


def test_augment_keeps_shape_dtype_and_input(image):
    copy = image.copy()
    out = augment(image, np.random.default_rng(1))
    assert out.shape == image.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(image, copy)


def test_default_settings_change_the_image(image):
    # GIVEN the default ranges WHEN augmenting with a few seeds THEN no view is the input or
    # one of its plain symmetries: zoom, shift and the colour jitter changed the pixels
    symmetries = [dihedral(image, k) for k in range(8)]
    for seed in range(5):
        out = augment(image, np.random.default_rng(seed))
        assert min(np.abs(out.astype(int) - s).mean() for s in symmetries) > 5.0, seed


def test_augment_is_reproducible_with_a_seed(image):
    a = augment(image, np.random.default_rng(5))
    b = augment(image, np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)


def test_two_seeds_give_different_views(image):
    views = {augment(image, np.random.default_rng(seed)).tobytes() for seed in range(6)}
    assert len(views) == 6


def test_dihedral_group_has_eight_distinct_elements(image):
    views = {dihedral(image, k).tobytes() for k in range(8)}
    assert len(views) == 8


def test_no_op_params_only_apply_the_symmetry(image):
    out = augment(image, np.random.default_rng(3), NO_OP)
    candidates = [dihedral(image, k) for k in range(8)]
    assert min(np.abs(out.astype(int) - c).mean() for c in candidates) < 2.0


def test_brightness_stays_inside_its_range():
    # A flat grey image is unchanged by symmetry, hue and saturation: only brightness moves it.
    grey = np.full((SIZE, SIZE, 3), 128, np.uint8)
    limit = 16.0
    shifts = []
    for seed in range(40):
        out = augment(grey, np.random.default_rng(seed), only(brightness=limit))
        assert np.ptp(out) == 0  # one offset for the whole image
        shifts.append(int(out[0, 0, 0]) - 128)
    assert max(abs(s) for s in shifts) <= limit + 1  # +1: rounding to uint8
    assert min(shifts) < -limit / 2 and max(shifts) > limit / 2  # both ways, most of the range


def test_zoom_stays_inside_its_range():
    side, max_zoom = 20, 1.3
    sides = []
    for seed in range(30):
        out = augment(square(side), np.random.default_rng(seed), only(max_zoom=max_zoom))
        grown, row, col = bright_box(out)
        assert abs(row - (SIZE - 1) / 2) <= 1.0 and abs(col - (SIZE - 1) / 2) <= 1.0  # centred
        sides.append(grown / side)
    assert min(sides) >= 1.0 - 0.06 and max(sides) <= max_zoom + 0.06  # zoom in, never out
    assert max(sides) > 1.0 + (max_zoom - 1.0) / 2  # and most of the range is used


def test_shift_stays_inside_its_range():
    max_shift = 0.1
    limit = max_shift * SIZE
    offsets = []
    for seed in range(30):
        out = augment(square(12), np.random.default_rng(seed), only(max_shift=max_shift))
        grown, row, col = bright_box(out)
        assert grown == pytest.approx(12, abs=0.6)  # moved, not resized
        offsets += [row - (SIZE - 1) / 2, col - (SIZE - 1) / 2]
    assert max(abs(o) for o in offsets) <= limit + 1.0
    assert max(abs(o) for o in offsets) > limit / 2
