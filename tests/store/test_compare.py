"""Side-by-side alignment: equal canvases, a common mm scale (the finer photo shrunk), the
same size without a scale, outlines drawn, inputs untouched."""

from __future__ import annotations

import numpy as np
import pytest

from skinapp.analysis import CONTOUR_COLOR
from skinapp.errors import InvalidImageError
from skinapp.store.compare import PAD_COLOR, align_pair
from tests.store.helpers import lesion_photo


def _outline_pixels(image: np.ndarray) -> int:
    return int(np.all(image == CONTOUR_COLOR, axis=-1).sum())


def _outline_width(image: np.ndarray) -> int:
    columns = np.flatnonzero(np.all(image == CONTOUR_COLOR, axis=-1).any(axis=0))
    return int(columns.max() - columns.min() + 1)


def test_common_mm_scale_shrinks_the_finer_photo():
    fine, fine_outline = lesion_photo(radius=40, size=(200, 240))  # 0.025 mm/px
    coarse, coarse_outline = lesion_photo(radius=20, size=(120, 160))  # 0.05 mm/px
    before = fine.copy()
    pair = align_pair(fine, fine_outline, 0.025, coarse, coarse_outline, 0.05)
    assert pair.first.shape == pair.second.shape == (120, 160, 3)
    assert pair.mm_per_pixel == 0.05
    assert "0.0500 mm per pixel" in pair.note
    # Same lesion (2 mm across) drawn at the same size: outlines of the same extent.
    assert _outline_width(pair.first) == pytest.approx(_outline_width(pair.second), abs=2)
    np.testing.assert_array_equal(fine, before)


def test_without_a_scale_both_get_the_same_long_side_and_a_padded_canvas():
    a, a_outline = lesion_photo(size=(100, 200))
    b, b_outline = lesion_photo(size=(150, 150))
    pair = align_pair(a, a_outline, None, b, b_outline, 0.05)
    assert pair.mm_per_pixel is None
    assert "same size" in pair.note
    assert pair.first.shape == pair.second.shape == (150, 150, 3)
    assert tuple(pair.first[0, 0]) == PAD_COLOR  # a 150 x 75 photo centred on the canvas
    assert _outline_pixels(pair.first) > 0 and _outline_pixels(pair.second) > 0


def test_an_empty_outline_draws_nothing():
    a, _ = lesion_photo()
    pair = align_pair(a, np.empty((0, 2)), None, a, np.empty((0, 2)), None)
    assert _outline_pixels(pair.first) == 0


def test_a_bad_image_is_refused():
    with pytest.raises(InvalidImageError):
        align_pair(
            np.zeros((10, 10)),
            np.empty((0, 2)),
            None,
            np.zeros((10, 10, 3), np.uint8),
            np.empty((0, 2)),
            None,
        )
