"""Tests for skinapp.analysis: the orchestration the pages call, its settings and overlays.

Most tests use a fake classifier (fast, records what the model was given); the last ones run
the shipped model in ``models/`` and are skipped, with the reason, where it is absent.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from skinapp.analysis import (
    CONTOUR_COLOR,
    STEP_LABELS,
    USE_TTA,
    Analysis,
    AnalysisSettings,
    analyze,
    analyze_bytes,
    draw_contour,
    overlay_heatmap,
    overlay_mask,
)
from skinapp.errors import ImageReadError, InvalidImageError
from skinapp.io import encode_png, read_image
from skinapp.model.preprocessing import at_model_scale
from skinapp.preprocess import STEP_NAMES, PipelineParams
from skinapp.preprocess.params import DenoiseParams, ResizeParams
from skinapp.serving import default_model_dir
from skinapp.vision.hair import HairRemovalParams
from tests.fakes import FakeClassifier

SAMPLES = Path(__file__).resolve().parent.parent / "skinapp" / "samples"


def _replace(obj, **changes):
    """dataclasses.replace or NamedTuple._replace, whichever the object supports."""
    if dataclasses.is_dataclass(obj):
        return dataclasses.replace(obj, **changes)
    return obj._replace(**changes)


@pytest.fixture(scope="module")
def sample() -> np.ndarray:
    return read_image(SAMPLES / "ISIC_0000309.jpg")


@pytest.fixture
def fake() -> FakeClassifier:
    return FakeClassifier()


# === analyze ===


def test_analysis_has_every_part_and_leaves_input_alone(sample, fake):
    before = sample.copy()
    result = analyze(sample, AnalysisSettings(), fake)

    assert isinstance(result, Analysis)
    np.testing.assert_array_equal(sample, before)
    h, w = sample.shape[:2]
    for image in (result.image, result.preprocessed, result.contour_overlay, result.hair_overlay):
        assert image.shape == (h, w, 3) and image.dtype == np.uint8
    assert result.heatmap_overlay.shape == (h, w, 3)
    assert result.hair_mask.shape == (h, w) and result.hair_mask.dtype == bool
    assert next(iter(result.steps)) == "input"
    assert set(result.steps) <= {"input", *STEP_NAMES}
    assert "resize" not in result.steps  # the model is given the photo: nothing reads it
    assert result.segmentation.mask.shape == (h, w)
    assert set(result.timings_ms) == {
        "downscale",
        "preprocess",
        "segment",
        "describe",
        "classify",
        "overlays",
        "quality",
        "total",
    }
    assert all(v >= 0 for v in result.timings_ms.values())
    assert result.quality is not None and len(result.quality.checks) == 5
    assert result.prediction is result.validated_prediction
    assert result.preprocessed_prediction is None
    assert result.model_input == "original"


def test_quality_checks_run_on_the_working_image(sample, fake):
    blurred = cv2.GaussianBlur(sample, (0, 0), 3)
    result = analyze(blurred, AnalysisSettings(), fake)
    assert not result.quality["focus"].passed
    assert "out of focus" in " ".join(result.quality.messages)


def test_default_settings_classify_the_original_photo(sample, fake):
    result = analyze(sample, AnalysisSettings(), fake)

    assert len(fake.inputs) == 1
    np.testing.assert_array_equal(fake.inputs[0], result.image)
    assert not AnalysisSettings().differs_from_validated_defaults()
    assert not any("validated" in note for note in result.notes)


def test_classify_preprocessed_gives_the_model_the_pipeline_output(sample, fake):
    settings = AnalysisSettings(classify_preprocessed=True)
    result = analyze(sample, settings, fake)

    assert len(fake.inputs) == 2
    np.testing.assert_array_equal(fake.inputs[1], result.steps["resize"])
    assert result.prediction is result.preprocessed_prediction
    assert result.model_input == "preprocessed"
    assert settings.differs_from_validated_defaults()
    assert any("validated on original photos" in note for note in result.notes)


def test_compare_inputs_classifies_both_and_reports_the_original(sample, fake):
    result = analyze(sample, AnalysisSettings(compare_inputs=True), fake)

    assert len(fake.inputs) == 2
    assert result.prediction is result.validated_prediction
    assert result.preprocessed_prediction is not None
    assert result.steps["resize"].shape == (224, 224, 3)  # the Lab shows the model's input
    np.testing.assert_array_equal(fake.inputs[1], result.steps["resize"])


def test_large_photo_is_shrunk_and_the_scale_follows(sample, fake):
    big = cv2.resize(sample, (2048, 1536), interpolation=cv2.INTER_LINEAR)
    result = analyze(big, AnalysisSettings(mm_per_pixel=0.01), fake)

    assert max(result.image.shape[:2]) == 1024
    assert result.original_size == (1536, 2048)
    assert result.mm_per_pixel == pytest.approx(0.02)
    assert any("2048 × 1536" in note for note in result.notes)
    # The classifier gets the working image shrunk once to the dataset's scale.
    np.testing.assert_array_equal(fake.inputs[0], at_model_scale(result.image))
    assert fake.inputs[0].shape == (168, 224, 3)


def test_lab_changes_are_listed_in_the_notes(sample, fake):
    pipeline = PipelineParams(hair_removal=HairRemovalParams(threshold=40))
    result = analyze(sample, AnalysisSettings(pipeline=pipeline), fake)

    assert any("hair_removal.threshold" in note for note in result.notes)
    assert len(fake.inputs) == 1  # the model still sees the original


def test_hair_removal_off_gives_an_empty_mask(sample, fake):
    pipeline = PipelineParams(hair_removal=HairRemovalParams(enabled=False))
    result = analyze(sample, AnalysisSettings(pipeline=pipeline), fake)

    assert "hair_removal" not in result.steps
    assert not result.hair_mask.any()
    assert result.hair_fraction == 0.0


def test_no_lesion_found_gives_no_descriptors(sample, fake, monkeypatch):
    import skinapp.analysis as analysis_module

    real = analysis_module.outline_lesion

    def nothing(image, params, segmenter, **kwargs):
        seg = real(image, params, segmenter, **kwargs)
        return _replace(seg, found=False, mask=np.zeros_like(seg.mask), message="")

    monkeypatch.setattr(analysis_module, "outline_lesion", nothing)
    result = analyze(sample, AnalysisSettings(), fake)

    assert result.descriptors is None
    np.testing.assert_array_equal(result.contour_overlay, result.preprocessed)
    assert any("No lesion" in note for note in result.notes)


def test_descriptors_get_the_working_scale(fake):
    # GIVEN a 400 x 300 photo at 0.05 mm per pixel of a drawn lesion 121 px (~6 mm) across
    photo = np.full((300, 400, 3), (205, 160, 140), np.uint8)
    cv2.circle(photo, (200, 150), 60, (110, 70, 50), -1)
    # WHEN it is analysed on a working image half its size
    result = analyze(photo, AnalysisSettings(mm_per_pixel=0.05, max_side=200), fake)

    # THEN a working pixel covers twice the millimetres of a photo pixel ...
    assert result.image.shape[:2] == (150, 200)
    assert result.mm_per_pixel == pytest.approx(0.1)
    # ... the descriptors measured on the working image use that scale ...
    d = result.descriptors
    assert result.segmentation.found and d is not None
    assert d.mm_per_pixel == pytest.approx(0.1)
    assert d.diameter_mm == pytest.approx(d.diameter_px * 0.1, rel=1e-3)
    assert d.area_mm2 == pytest.approx(d.area_px * 0.1**2, rel=1e-3)
    # ... so the lesion keeps its real size: 6 mm across, pi * 3^2 mm^2
    assert d.diameter_mm == pytest.approx(6.05, rel=0.05)
    assert d.area_mm2 == pytest.approx(np.pi * 3.025**2, rel=0.06)


def test_analyze_bytes_times_decoding_and_rejects_bad_files(sample, fake):
    result = analyze_bytes(encode_png(sample), AnalysisSettings(), fake)
    assert "decode" in result.timings_ms
    assert result.timings_ms["total"] >= result.timings_ms["decode"]

    with pytest.raises(ImageReadError, match="not an image"):
        analyze_bytes(b"hello, this is text", AnalysisSettings(), fake)


def test_analyze_rejects_a_non_image(fake):
    with pytest.raises(InvalidImageError):
        analyze(np.zeros((50, 50), np.uint8), AnalysisSettings(), fake)


def test_every_step_has_a_label():
    assert set(STEP_LABELS) == {"input", *STEP_NAMES}


# === AnalysisSettings ===


def test_changed_parameters_are_dotted_names():
    settings = AnalysisSettings(
        pipeline=PipelineParams(
            denoise=DenoiseParams(method="median"), resize=ResizeParams(mode="pad")
        ),
        classify_preprocessed=True,
    )
    assert settings.changed_parameters() == (
        "pipeline.denoise.method",
        "pipeline.resize.mode",
        "classify_preprocessed",
    )
    assert AnalysisSettings().changed_parameters() == ()
    # The scale and the comparison switch are not Lab settings.
    assert not AnalysisSettings(mm_per_pixel=0.1, compare_inputs=True).changed_parameters()


def test_settings_json_round_trip():
    settings = AnalysisSettings(
        pipeline=PipelineParams(hair_removal=HairRemovalParams(kernel_size=13)),
        classify_preprocessed=True,
    )
    text = settings.to_json()
    assert json.loads(text)["pipeline"]["hair_removal"]["kernel_size"] == 13
    assert AnalysisSettings.from_json(text) == settings


def test_settings_import_ignores_unknown_keys_and_fills_defaults():
    data = {"pipeline": {"contrast": {"method": "clahe", "future": 1}}, "version": 9}
    settings = AnalysisSettings.from_dict(data, mm_per_pixel=0.02)
    assert settings.pipeline.contrast.method == "clahe"
    assert settings.segment == AnalysisSettings().segment
    assert settings.mm_per_pixel == 0.02


@pytest.mark.parametrize(
    "text",
    [
        b"not json",
        b"[1, 2]",
        b'{"pipeline": {"hair_removal": {"threshold": 1000}}}',
        b'{"pipeline": {"hair_removal": 3}}',
        b'{"segment": []}',
        b'{"classify_preprocessed": "yes"}',
        b"\xff\xfe",
    ],
)
def test_invalid_settings_files_raise_value_error(text):
    with pytest.raises(ValueError):
        AnalysisSettings.from_json(text)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"mm_per_pixel": 0.0},
        {"mm_per_pixel": -1.0},
        {"mm_per_pixel": "0.1"},
        {"max_side": 10},
        {"max_side": 512.0},
        {"classify_preprocessed": 1},
        {"pipeline": {}},
    ],
)
def test_invalid_settings_raise_value_error(kwargs):
    with pytest.raises(ValueError, match="Received"):
        AnalysisSettings(**kwargs)


def test_cache_key_tells_settings_apart():
    a = AnalysisSettings()
    assert a.cache_key() == AnalysisSettings().cache_key()
    assert a.cache_key() != AnalysisSettings(mm_per_pixel=0.1).cache_key()
    assert a.cache_key() != AnalysisSettings(compare_inputs=True).cache_key()


# === Overlays ===


def test_overlay_heatmap_puts_hot_colours_where_the_map_is_high():
    image = np.full((70, 140, 3), 128, np.uint8)
    heat = np.zeros((7, 7), np.float32)
    heat[0, 0] = 1.0
    out = overlay_heatmap(image, heat)

    assert out.shape == image.shape and out.dtype == np.uint8
    assert (image == 128).all()
    top_left, bottom_right = out[2, 2].astype(int), out[-3, -3].astype(int)
    assert top_left[0] > top_left[2] + 50  # red where the map is 1
    assert (np.abs(bottom_right - 128) <= 1).all()  # the image itself where it is 0


@pytest.mark.parametrize(
    ("heat", "alpha"), [(np.zeros(7), 0.5), (np.zeros((0, 0)), 0.5), (np.zeros((7, 7)), 1.5)]
)
def test_overlay_heatmap_rejects_bad_input(heat, alpha):
    with pytest.raises(ValueError, match="Received"):
        overlay_heatmap(np.zeros((20, 20, 3), np.uint8), heat, alpha=alpha)


def test_draw_contour_draws_on_a_copy():
    image = np.zeros((60, 60, 3), np.uint8)
    square = np.array([[[10, 10]], [[40, 10]], [[40, 40]], [[10, 40]]], np.int32)
    out = draw_contour(image, square, thickness=1)

    assert not image.any()
    assert tuple(out[10, 25]) == CONTOUR_COLOR
    assert not out[25, 25].any()  # inside stays as it was
    np.testing.assert_array_equal(draw_contour(image, np.zeros((0, 1, 2), np.int32)), image)
    assert draw_contour(image, [square[:, 0, :]]).any()  # (N, 2) inside a list


def test_overlay_mask_tints_only_masked_pixels():
    image = np.full((10, 10, 3), 100, np.uint8)
    mask = np.zeros((10, 10), bool)
    mask[2, 3] = True
    out = overlay_mask(image, mask, (255, 0, 0), alpha=1.0)

    assert tuple(out[2, 3]) == (255, 0, 0)
    assert (out[~mask] == 100).all()
    with pytest.raises(ValueError, match="Received"):
        overlay_mask(image, np.zeros((5, 5), bool))


# === With the shipped model ===


@pytest.fixture(scope="module")
def shipped_classifier():
    model_dir = default_model_dir()
    if not (model_dir / "model.tflite").is_file():
        pytest.skip(f"no shipped model in {model_dir} (models/ is committed in CI)")
    from skinapp.serving import load_classifier

    return load_classifier(model_dir)


def test_shipped_model_result_is_consistent(sample, shipped_classifier):
    result = analyze(sample, AnalysisSettings(compare_inputs=True), shipped_classifier)
    pred = result.prediction

    assert 0.0 <= pred.p_malignant <= 1.0
    assert pred.grade in (1, 2, 3)
    assert pred.label in ("benign", "malignant")
    assert pred.heatmap is not None and pred.heatmap.shape[0] == pred.heatmap.shape[1]
    assert result.preprocessed_prediction is not None
    direct = shipped_classifier.predict(sample, tta=USE_TTA)
    assert pred.p_malignant == pytest.approx(direct.p_malignant, abs=1e-6)


def test_shipped_model_analyses_a_1024px_photo(sample, shipped_classifier):
    # Its speed is a benchmark figure with a target, not a timed test (it would fail on a
    # loaded machine): `pipeline.total_ms_p50_1024` in `python -m skinapp.bench`.
    big = cv2.resize(sample, (1024, 768), interpolation=cv2.INTER_CUBIC)
    result = analyze(big, AnalysisSettings(), shipped_classifier)

    assert result.image.shape == (768, 1024, 3)
    assert result.timings_ms["total"] > 0


def test_shipped_quality_detector_flags_a_darkened_photo(sample, shipped_classifier):
    from skinapp.trust import degrade

    assert shipped_classifier.photometric is not None, "models/quality.npz is for another model"
    good = analyze(sample, AnalysisSettings(), shipped_classifier).quality
    dark = analyze(degrade.gamma(sample, 3.0), AnalysisSettings(), shipped_classifier).quality
    assert good["exposure"].passed and good["color_cast"].passed
    assert not dark["exposure"].passed and "too dark" in dark["exposure"].message
