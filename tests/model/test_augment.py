import numpy as np
import pytest

from skinapp.model.augment import AugmentParams, augment, dihedral


@pytest.fixture
def image():
    return np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)


def test_augment_keeps_shape_dtype_and_input(image):
    copy = image.copy()
    out = augment(image, np.random.default_rng(1))
    assert out.shape == image.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(image, copy)


def test_augment_is_reproducible_with_a_seed(image):
    a = augment(image, np.random.default_rng(5))
    b = augment(image, np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)


def test_dihedral_group_has_eight_distinct_elements(image):
    views = {dihedral(image, k).tobytes() for k in range(8)}
    assert len(views) == 8


def test_no_op_params_only_apply_the_symmetry(image):
    params = AugmentParams(
        max_zoom=1.0, max_shift=0.0, brightness=0.0, contrast=0.0, saturation=0.0, hue=0.0
    )
    out = augment(image, np.random.default_rng(3), params)
    candidates = [dihedral(image, k) for k in range(8)]
    assert min(np.abs(out.astype(int) - c).mean() for c in candidates) < 2.0
