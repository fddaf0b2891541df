"""Tests for skinapp.preprocess.transforms and their parameter dataclasses."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from skinapp.errors import InvalidImageError
from skinapp.io import read_image
from skinapp.preprocess import (
    ColorConstancyParams,
    ContrastParams,
    DenoiseParams,
    ResizeParams,
    apply_color_constancy,
    denoise,
    enhance_contrast,
    resize,
)

SAMPLE = Path(__file__).resolve().parents[2] / "skinapp" / "samples" / "ISIC_0000452.jpg"
SKIN = (205, 150, 125)


@pytest.fixture(scope="module")
def sample() -> np.ndarray:
    return read_image(SAMPLE)


def flat(colour=SKIN, shape=(48, 64)) -> np.ndarray:
    return np.full((*shape, 3), colour, np.uint8)


def noisy(shape=(48, 64), seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(rng.normal(SKIN, 20, (*shape, 3)), 0, 255).astype(np.uint8)


# Every transform with every method (and the interesting modes).
CASES = [
    (resize, ResizeParams(size=32, mode=mode, pad_fill=fill, interpolation=interp))
    for mode, fill, interp in [
        ("stretch", "black", "auto"),
        ("pad", "black", "area"),
        ("pad", "edge", "cubic"),
        ("crop", "black", "nearest"),
        ("none", "black", "linear"),
    ]
]
CASES += [(denoise, DenoiseParams(method=m)) for m in ("none", "gaussian", "median", "bilateral")]
CASES += [
    (denoise, DenoiseParams(method="nlm")),
    (denoise, DenoiseParams(method="gaussian", kernel_size=15, sigma=3.0)),
]
CASES += [(enhance_contrast, ContrastParams(method=m)) for m in ("none", "hist_eq", "clahe")]
CASES += [
    (apply_color_constancy, ColorConstancyParams(method=m))
    for m in ("none", "gray_world", "shades_of_gray")
]
CASE_IDS = [f"{fn.__name__}-{getattr(p, 'method', getattr(p, 'mode', ''))}" for fn, p in CASES]


def expected_shape(params, shape):
    if isinstance(params, ResizeParams) and params.mode != "none":
        return (params.size, params.size, 3)
    return shape


# === Invariants ===


@pytest.mark.parametrize("shape", [(48, 64, 3), (64, 33, 3), (1, 1, 3)])
@pytest.mark.parametrize(("transform", "params"), CASES, ids=CASE_IDS)
def test_invariants(transform, params, shape):
    image = noisy(shape[:2])
    before = image.copy()
    out = transform(image, params)
    assert out.dtype == np.uint8
    assert out.shape == expected_shape(params, shape)
    np.testing.assert_array_equal(image, before)  # input unchanged
    assert not np.shares_memory(out, image)


@pytest.mark.parametrize(("transform", "params"), CASES, ids=CASE_IDS)
def test_accepts_views(transform, params, sample):
    view = sample[::-1, 10:-10]  # negative strides, not contiguous
    out = transform(view, params)
    np.testing.assert_array_equal(transform(view.copy(), params), out)


@pytest.mark.parametrize("transform", [resize, denoise, enhance_contrast, apply_color_constancy])
@pytest.mark.parametrize(
    "bad", [np.zeros((8, 8), np.uint8), np.zeros((8, 8, 3), np.float32), np.zeros((0, 8, 3))]
)
def test_rejects_non_images(transform, bad):
    with pytest.raises(InvalidImageError):
        transform(bad)


@settings(max_examples=25, deadline=None)
@given(
    image=hnp.arrays(
        np.uint8,
        st.tuples(st.integers(1, 40), st.integers(1, 40), st.just(3)),
        elements=st.integers(0, 255),
    ),
    case=st.sampled_from(CASES),
)
def test_property_any_size(image, case):
    transform, params = case
    before = image.copy()
    out = transform(image, params)
    assert out.dtype == np.uint8
    assert out.shape == expected_shape(params, image.shape)
    np.testing.assert_array_equal(image, before)


# === Resize ===


def test_resize_defaults_to_model_input():
    assert resize(flat(shape=(150, 200))).shape == (224, 224, 3)


def test_stretch_ignores_aspect():
    image = np.zeros((100, 300, 3), np.uint8)
    image[:, 150:] = 255
    out = resize(image, ResizeParams(size=50, mode="stretch"))
    assert (out[:, :24] == 0).all() and (out[:, 26:] == 255).all()


def test_pad_keeps_aspect_with_black_borders():
    out = resize(flat((255, 255, 255), (100, 200)), ResizeParams(size=100, mode="pad"))
    assert (out[:25] == 0).all() and (out[75:] == 0).all()
    assert (out[25:75] == 255).all()


def test_pad_edge_repeats_border_pixels():
    image = flat((10, 20, 30), (100, 200))
    image[:2], image[-2:] = (200, 0, 0), (0, 0, 200)
    out = resize(image, ResizeParams(size=100, mode="pad", pad_fill="edge"))
    assert (out[:26] == (200, 0, 0)).all() and (out[74:] == (0, 0, 200)).all()


def test_crop_keeps_the_centre():
    image = np.zeros((100, 300, 3), np.uint8)
    image[:, :100], image[:, 100:200], image[:, 200:] = (255, 0, 0), (0, 255, 0), (0, 0, 255)
    out = resize(image, ResizeParams(size=50, mode="crop"))
    assert (out == (0, 255, 0)).all()


def test_nearest_interpolation_keeps_values():
    image = (np.indices((8, 8)).sum(axis=0) % 2 * 255).astype(np.uint8)
    out = resize(np.dstack([image] * 3), ResizeParams(size=32, interpolation="nearest"))
    assert set(np.unique(out)) == {0, 255}


# === Denoise ===


def test_median_removes_salt_and_pepper():
    image = flat()
    rng = np.random.default_rng(3)
    rows, cols = rng.integers(0, 48, 60), rng.integers(0, 64, 60)
    image[rows[:30], cols[:30]], image[rows[30:], cols[30:]] = 0, 255
    out = denoise(image, DenoiseParams(method="median", kernel_size=3))
    np.testing.assert_array_equal(out, flat())


@pytest.mark.parametrize("method", ["gaussian", "median", "bilateral", "nlm"])
def test_filters_keep_flat_images_and_reduce_noise(method):
    params = DenoiseParams(method=method)
    # Exact except non-local means, which goes through CIELab and back (±1).
    assert np.abs(denoise(flat(), params).astype(int) - flat()).max() <= 1
    image = noisy()
    noise = lambda out: (out.astype(float) - SKIN).std()  # noqa: E731
    assert noise(denoise(image, params)) < 0.75 * noise(image)


def test_bilateral_keeps_edges_sharper_than_gaussian():
    image = flat((60, 40, 30))
    image[:, 32:] = SKIN
    gaussian = denoise(image, DenoiseParams(method="gaussian", kernel_size=9, sigma=3.0))
    bilateral = denoise(image, DenoiseParams(method="bilateral", kernel_size=9, sigma=3.0))
    step = lambda out: int(out[:, 32, 0].mean()) - int(out[:, 31, 0].mean())  # noqa: E731
    assert step(bilateral) > step(gaussian) + 20


# === Contrast ===


def grey_ramp(low=100, high=140) -> np.ndarray:
    ramp = np.linspace(low, high, 64).astype(np.uint8)
    return np.dstack([np.tile(ramp, (48, 1))] * 3)


def test_hist_eq_stretches_lightness_and_keeps_grey():
    out = enhance_contrast(grey_ramp(), ContrastParams(method="hist_eq")).astype(int)
    assert out.min() < 20 and out.max() > 235
    assert (
        np.abs(out[..., 0] - out[..., 1]).max() <= 2
        and np.abs(out[..., 1] - out[..., 2]).max() <= 2
    )


def test_clahe_increases_contrast_and_clip_limit_bounds_it(sample):
    weak = enhance_contrast(sample, ContrastParams(method="clahe", clip_limit=1.0))
    strong = enhance_contrast(sample, ContrastParams(method="clahe", clip_limit=6.0))
    assert sample.std() < weak.std() < strong.std()


def test_contrast_keeps_hue(sample):
    out = enhance_contrast(sample, ContrastParams(method="clahe")).astype(float)
    # CIELab a/b are kept, so the red-minus-blue ordering of the skin is kept.
    assert ((out[..., 0] >= out[..., 2]) == (sample[..., 0] >= sample[..., 2])).mean() > 0.95


# === Colour constancy ===


def shades_of_gray_reference(image: np.ndarray, p: int) -> np.ndarray:
    """Closed form: I_c * ||e|| / (sqrt(3) e_c), e_c = (mean I_c^p)^(1/p)."""
    pixels = image.astype(np.float64)
    e = np.array([np.mean(pixels[..., c] ** p) ** (1 / p) for c in range(3)])
    return np.clip(np.rint(pixels * np.sqrt((e**2).sum()) / (np.sqrt(3) * e)), 0, 255)


@pytest.mark.parametrize("method", ["gray_world", "shades_of_gray"])
@pytest.mark.parametrize("tint", [(200, 100, 50), (90, 160, 220), (255, 255, 1)])
def test_uniform_tint_becomes_grey(method, tint):
    out = apply_color_constancy(flat(tint), ColorConstancyParams(method=method))
    grey = np.sqrt(np.square(tint).sum() / 3)
    assert np.abs(out.astype(float) - grey).max() <= 1


@pytest.mark.parametrize(("method", "p"), [("gray_world", 1), ("shades_of_gray", 6)])
def test_matches_closed_form(sample, method, p):
    out = apply_color_constancy(sample, ColorConstancyParams(method=method, p=p))
    assert np.abs(out.astype(int) - shades_of_gray_reference(sample, p)).max() <= 1


def test_gray_world_ignores_p(sample):
    a = apply_color_constancy(sample, ColorConstancyParams(method="gray_world", p=1))
    b = apply_color_constancy(sample, ColorConstancyParams(method="gray_world", p=12))
    np.testing.assert_array_equal(a, b)


def test_corrected_channel_means_are_balanced(sample):
    out = apply_color_constancy(sample, ColorConstancyParams(method="gray_world"))
    means = out.reshape(-1, 3).mean(axis=0)
    assert means.max() - means.min() < 3 < np.ptp(sample.reshape(-1, 3).mean(axis=0))


@pytest.mark.parametrize("colour", [(0, 0, 0), (128, 128, 128), (255, 0, 0)])
def test_degenerate_images_are_safe(colour):
    out = apply_color_constancy(flat(colour))
    assert out.dtype == np.uint8
    if len(set(colour)) == 1:
        np.testing.assert_array_equal(out, flat(colour))


@pytest.mark.parametrize("p", [12, 16])
def test_high_p_matches_closed_form(sample, p):
    # pixel ** 16 overflows float32 on 0-255 values: the result must still be the formula's
    out = apply_color_constancy(sample, ColorConstancyParams(method="shades_of_gray", p=p))
    assert np.abs(out.astype(int) - shades_of_gray_reference(sample, p)).max() <= 1


# === Parameters ===

INVALID = [
    (ResizeParams, {"size": 16}),
    (ResizeParams, {"size": 2048}),
    (ResizeParams, {"size": 224.0}),
    (ResizeParams, {"mode": "fit"}),
    (ResizeParams, {"pad_fill": "white"}),
    (ResizeParams, {"interpolation": "lanczos"}),
    (DenoiseParams, {"method": "wiener"}),
    (DenoiseParams, {"kernel_size": 4}),
    (DenoiseParams, {"kernel_size": 1}),
    (DenoiseParams, {"kernel_size": 17}),
    (DenoiseParams, {"kernel_size": 5.0}),
    (DenoiseParams, {"sigma": -1.0}),
    (DenoiseParams, {"sigma": "2"}),
    (DenoiseParams, {"color_sigma": 0.0}),
    (DenoiseParams, {"strength": 0.5}),
    (ContrastParams, {"method": "gamma"}),
    (ContrastParams, {"clip_limit": 0.0}),
    (ContrastParams, {"clip_limit": 11.0}),
    (ContrastParams, {"tile_grid": 0}),
    (ContrastParams, {"tile_grid": 2.5}),
    (ColorConstancyParams, {"method": "max_rgb"}),
    (ColorConstancyParams, {"p": 0}),
    (ColorConstancyParams, {"p": 17}),
    (ColorConstancyParams, {"p": 2.5}),
]


@pytest.mark.parametrize(
    ("cls", "kwargs"), INVALID, ids=[f"{c.__name__}-{next(iter(k))}" for c, k in INVALID]
)
def test_invalid_parameter(cls, kwargs):
    (name,) = kwargs
    with pytest.raises(ValueError, match=f"Received: `{name}="):
        cls(**kwargs)


PARAM_CLASSES = [ResizeParams, DenoiseParams, ContrastParams, ColorConstancyParams]


@pytest.mark.parametrize("cls", PARAM_CLASSES)
def test_params_are_frozen_and_fully_described(cls):
    params = cls()
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.__setattr__(dataclasses.fields(cls)[0].name, None)
    for f in dataclasses.fields(cls):
        meta = f.metadata["ui"]
        assert meta["help"] and "\n" not in meta["help"]
        default = getattr(params, f.name)
        if meta["choices"] is not None:
            assert default in meta["choices"]
            assert {"none", "stretch"} & set(meta["choices"]) or f.name != "method"
        else:
            assert meta["min"] <= default <= meta["max"] and meta["step"] > 0


@pytest.mark.parametrize("cls", [DenoiseParams, ContrastParams, ColorConstancyParams])
def test_each_step_can_be_switched_off(cls):
    (method,) = [f for f in dataclasses.fields(cls) if f.name == "method"]
    assert "none" in method.metadata["ui"]["choices"]
