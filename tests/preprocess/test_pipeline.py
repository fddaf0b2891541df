"""Tests for skinapp.preprocess.pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from skinapp.errors import InvalidImageError, SkinappError, TransformError
from skinapp.io import read_image
from skinapp.preprocess import (
    STEP_NAMES,
    ColorConstancyParams,
    ContrastParams,
    DenoiseParams,
    HairRemovalParams,
    Pipeline,
    PipelineParams,
    PipelineResult,
    ResizeParams,
    apply_color_constancy,
    denoise,
    enhance_contrast,
    remove_hair,
    resize,
)
from skinapp.preprocess import pipeline as pipeline_module

SAMPLE = Path(__file__).resolve().parents[2] / "skinapp" / "samples" / "ISIC_0000180.jpg"

ALL_ON = PipelineParams(
    color_constancy=ColorConstancyParams(method="gray_world"),
    denoise=DenoiseParams(method="median", kernel_size=3),
    contrast=ContrastParams(method="clahe"),
    hair_removal=HairRemovalParams(),
    resize=ResizeParams(size=96, mode="pad"),
)
ALL_OFF = PipelineParams(
    color_constancy=ColorConstancyParams(method="none"),
    hair_removal=HairRemovalParams(enabled=False),
    resize=ResizeParams(mode="none"),
)


@pytest.fixture(scope="module")
def sample() -> np.ndarray:
    return read_image(SAMPLE)


# === Running ===


def test_default_pipeline(sample):
    before = sample.copy()
    result = Pipeline().run(sample)
    assert isinstance(result, PipelineResult)
    assert list(result.steps) == ["input", "color_constancy", "hair_removal", "resize"]
    assert result.image.shape == (224, 224, 3) and result.image.dtype == np.uint8
    assert result.hair_mask.shape == sample.shape[:2] and result.hair_mask.any()
    assert result.steps["input"] is sample
    np.testing.assert_array_equal(sample, before)


def test_steps_run_in_order_and_match_the_transforms(sample):
    result = Pipeline(ALL_ON).run(sample)
    assert list(result.steps) == ["input", *STEP_NAMES]
    p = ALL_ON
    expected = apply_color_constancy(sample, p.color_constancy)
    np.testing.assert_array_equal(result.steps["color_constancy"], expected)
    expected = denoise(expected, p.denoise)
    np.testing.assert_array_equal(result.steps["denoise"], expected)
    expected = enhance_contrast(expected, p.contrast)
    np.testing.assert_array_equal(result.steps["contrast"], expected)
    expected, mask = remove_hair(expected, p.hair_removal)
    np.testing.assert_array_equal(result.steps["hair_removal"], expected)
    np.testing.assert_array_equal(result.hair_mask, mask)
    expected = resize(expected, p.resize)
    np.testing.assert_array_equal(result.image, expected)
    assert result.image is result.steps["resize"]


def test_everything_off_returns_the_input(sample):
    result = Pipeline(ALL_OFF).run(sample)
    assert list(result.steps) == ["input"]
    np.testing.assert_array_equal(result.image, sample)
    assert result.hair_mask.shape == sample.shape[:2] and not result.hair_mask.any()


def test_resize_none_keeps_display_size(sample):
    params = PipelineParams(resize=ResizeParams(mode="none"))
    assert Pipeline(params).run(sample).image.shape == sample.shape


def test_enabled_steps():
    assert PipelineParams().enabled_steps() == ("color_constancy", "hair_removal", "resize")
    assert ALL_ON.enabled_steps() == STEP_NAMES
    assert ALL_OFF.enabled_steps() == ()
    assert "hair_removal" in repr(Pipeline())


def test_rejects_non_images():
    with pytest.raises(InvalidImageError):
        Pipeline().run(np.zeros((10, 10), np.uint8))


@settings(max_examples=15, deadline=None)
@given(
    image=hnp.arrays(
        np.uint8,
        st.tuples(st.integers(1, 60), st.integers(1, 60), st.just(3)),
        elements=st.integers(0, 255),
    ),
    params=st.sampled_from([ALL_ON, ALL_OFF, PipelineParams()]),
)
def test_property_any_size(image, params):
    before = image.copy()
    result = Pipeline(params).run(image)
    size = params.resize.size
    expected = image.shape if params.resize.mode == "none" else (size, size, 3)
    assert result.image.shape == expected and result.image.dtype == np.uint8
    assert result.hair_mask.shape == image.shape[:2] and result.hair_mask.dtype == bool
    np.testing.assert_array_equal(image, before)


# === Errors ===


def test_step_failure_becomes_transform_error(monkeypatch, sample):
    def broken(image, params):
        raise RuntimeError("kernel exploded")

    monkeypatch.setitem(pipeline_module._TRANSFORMS, "denoise", broken)
    with pytest.raises(TransformError) as info:
        Pipeline(ALL_ON).run(sample)
    error = info.value
    assert isinstance(error, SkinappError)
    assert error.step == "denoise"
    assert error.shape == sample.shape and error.dtype == "uint8"
    low, high = error.value_range
    assert 0 <= low <= high <= 255
    assert isinstance(error.__cause__, RuntimeError)
    assert "'denoise'" in str(error) and "kernel exploded" in str(error)


def test_hair_removal_failure_is_named(monkeypatch, sample):
    def broken(image, params):
        raise MemoryError("no memory")

    monkeypatch.setattr(pipeline_module, "remove_hair", broken)
    with pytest.raises(TransformError, match="hair_removal"):
        Pipeline().run(sample)


# === Parameters ===


def test_json_round_trip():
    data = json.loads(json.dumps(ALL_ON.to_dict()))
    assert set(data) == set(STEP_NAMES)
    assert data["denoise"]["method"] == "median"
    assert PipelineParams.from_dict(data) == ALL_ON


def test_from_dict_fills_defaults_and_ignores_unknown_keys():
    params = PipelineParams.from_dict(
        {"contrast": {"method": "hist_eq", "future_knob": 3}, "future_step": {"x": 1}}
    )
    assert params == PipelineParams(contrast=ContrastParams(method="hist_eq"))
    assert PipelineParams.from_dict({}) == PipelineParams()


@pytest.mark.parametrize(
    "data",
    [
        {"denoise": {"kernel_size": 4}},
        {"hair_removal": {"inpaint_method": "magic"}},
        {"resize": "stretch"},
        ["resize"],
    ],
)
def test_from_dict_rejects_bad_settings(data):
    with pytest.raises(ValueError, match="Received"):
        PipelineParams.from_dict(data)


def test_steps_must_have_their_own_parameter_type():
    with pytest.raises(ValueError, match="DenoiseParams"):
        PipelineParams(denoise=ContrastParams())
