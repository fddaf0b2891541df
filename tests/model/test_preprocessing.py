"""What the classifier sees: one shrink to the dataset's scale, then the square."""

import cv2
import numpy as np
import pytest

from skinapp.model.preprocessing import (
    MODEL_INPUT_SIZE,
    ModelInputSpec,
    at_model_scale,
    prepare_model_input,
)


@pytest.fixture
def photo():
    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)
    return cv2.resize(small, (1024, 768), interpolation=cv2.INTER_CUBIC)


def test_a_photo_at_the_dataset_scale_is_passed_on_as_it_is():
    image = np.zeros((168, 224, 3), np.uint8)
    assert at_model_scale(image) is image


def test_a_larger_photo_is_shrunk_to_a_long_side_of_224_keeping_its_aspect(photo):
    small = at_model_scale(photo)
    assert small.shape == (168, 224, 3) and small.dtype == np.uint8
    expected = cv2.resize(photo, (224, 168), interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(small, expected)


def test_the_model_input_of_a_photo_is_that_of_its_shrunk_copy(photo):
    # So an analysis can shrink once and give the classifier and the segmenter the copy.
    spec = ModelInputSpec()
    direct = prepare_model_input(photo, spec)
    assert direct.shape == (MODEL_INPUT_SIZE, MODEL_INPUT_SIZE, 3)
    np.testing.assert_array_equal(direct, prepare_model_input(at_model_scale(photo), spec))


def test_a_dataset_photo_is_only_stretched_to_the_square():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (168, 224, 3), dtype=np.uint8)
    expected = cv2.resize(image, (224, 224), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(prepare_model_input(image), expected)
