"""skinapp.ui.display: result images are encoded once, and changes are never hidden."""

import gc

import numpy as np

from skinapp.io import read_image
from skinapp.ui import display


def _frozen(value: int) -> np.ndarray:
    image = np.full((40, 60, 3), value, np.uint8)
    image.flags.writeable = False
    return image


def test_a_kept_image_is_encoded_once_as_a_quality_90_jpeg():
    image = _frozen(120)
    data = display.display_jpeg(image)
    assert display.display_jpeg(image) is data
    assert data[:3] == b"\xff\xd8\xff"
    decoded = read_image(data)
    assert decoded.shape == image.shape
    assert np.abs(decoded.astype(int) - 120).max() <= 2


def test_a_writable_image_is_encoded_afresh():
    image = np.zeros((40, 60, 3), np.uint8)
    dark = display.display_jpeg(image)
    image[...] = 255
    assert read_image(display.display_jpeg(image)).min() >= 250
    assert read_image(dark).max() <= 5


def test_the_bytes_go_with_their_image():
    image = _frozen(30)
    display.display_jpeg(image)
    key = id(image)
    assert key in display._ENCODED
    del image
    gc.collect()
    assert key not in display._ENCODED
