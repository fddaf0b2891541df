"""The learned exposure / colour-cast detector: statistics, fitting, thresholds, the checks
that use it, and the detector shipped with the model."""

from __future__ import annotations

import numpy as np
import pytest

from skinapp.errors import ModelLoadError
from skinapp.serving import default_model_dir
from skinapp.trust import degrade
from skinapp.trust.photometric import (
    N_STATS,
    PHOTOMETRIC_FILE,
    design_matrix,
    fit_photometric,
    load_photometric,
    photo_stats,
)
from skinapp.trust.quality import check_quality
from tests.trust.test_quality import _lesion


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((40, 50, 3), np.uint8),  # flat: no correlation, no lit pixels
        np.full((30, 30, 3), 255, np.uint8),
        np.random.default_rng(0).integers(0, 256, (900, 1200, 3)).astype(np.uint8),
    ],
    ids=["black", "white", "large-noise"],
)
def test_stats_are_finite_for_any_photo(image):
    stats = photo_stats(image)
    assert stats.shape == (N_STATS,) and stats.dtype == np.float32
    assert np.isfinite(stats).all()


def test_stats_see_darkening_and_casts():
    image, _ = _lesion()
    base = photo_stats(image)
    dark = photo_stats(degrade.gamma(image, 2.0))
    blue = photo_stats(degrade.color_cast(image, 0.2, "blue"))
    assert dark[4] < base[4]  # median luminance
    b_star = 9 + 4 + 15 + 5 + 1  # mean b* of the lit pixels: towards blue is lower
    assert blue[b_star] < base[b_star]


def test_design_matrix_normalises_features_and_checks_rows():
    x = design_matrix(np.ones((2, N_STATS)), np.array([[3.0, 4.0], [0.0, 0.0]]))
    assert x.shape == (2, N_STATS + 2)
    np.testing.assert_allclose(x[0, N_STATS:], [0.6, 0.8])
    assert np.isfinite(x).all()  # a zero vector stays zero
    with pytest.raises(ValueError, match="one row per photo"):
        design_matrix(np.ones((2, N_STATS)), np.ones((3, 2)))


@pytest.fixture(scope="module")
def fitted():
    """Detector fitted on 60 generated lesions; features are a crude stand-in (mean colour)."""
    images = [_lesion(seed=s)[0] for s in range(60)]

    def described(imgs):
        stats = np.stack([photo_stats(im) for im in imgs])
        return stats, np.stack([im.reshape(-1, 3).mean(axis=0) for im in imgs])

    degraded = {
        "dark": [described([degrade.gamma(im, 2.0) for im in images])],
        "bright": [described([degrade.gamma(im, 0.33) for im in images])],
        "color_cast": [described([degrade.color_cast(im, 0.2, "blue") for im in images])],
    }
    groups = np.arange(60) // 2  # pairs of photos of one lesion stay in one fold
    detector = fit_photometric(*described(images), degraded, groups, model_version="v1")
    return detector, images


def test_fit_separates_degraded_copies_out_of_fold(fitted):
    detector, _ = fitted
    assert detector.conditions == ("dark", "bright", "color_cast")
    for name, summary in detector.summary.items():
        assert summary["detection_out_of_fold"][0] >= 0.9, name
        assert summary["false_alarms_out_of_fold"] <= 0.1, name


def test_judge_flags_new_degraded_photos_not_originals(fitted):
    detector, _ = fitted
    image = _lesion(seed=99)[0]  # not in the fit
    features = image.reshape(-1, 3).mean(axis=0)
    assert not any(flag for _, flag in detector.judge(image, features).values())
    dark = degrade.gamma(image, 2.5)
    assert detector.judge(dark, dark.reshape(-1, 3).mean(axis=0))["dark"][1]


def test_save_load_round_trip(fitted, tmp_path):
    detector, images = fitted
    detector.save(tmp_path / PHOTOMETRIC_FILE)
    loaded = load_photometric(tmp_path / PHOTOMETRIC_FILE)
    assert loaded.conditions == detector.conditions
    assert loaded.model_version == "v1" and loaded.summary == detector.summary
    stats = photo_stats(images[0])[None]
    features = images[0].reshape(-1, 3).mean(axis=0)[None]
    np.testing.assert_allclose(
        loaded.scores(stats, features), detector.scores(stats, features), rtol=1e-4, atol=1e-3
    )
    with pytest.raises(ValueError, match="fitted on 3 features"):
        loaded.scores(stats, np.ones((1, 5)))


def test_unreadable_file_is_a_clear_error(tmp_path):
    path = tmp_path / PHOTOMETRIC_FILE
    path.write_bytes(b"not a detector")
    with pytest.raises(ModelLoadError, match="--trust"):
        load_photometric(path)


class _Verdict:
    """A detector double that flags what it is told to."""

    def __init__(self, **flags):
        self.flags = flags

    def judge(self, image, features):
        return {c: (1.0, self.flags.get(c, False)) for c in ("dark", "bright", "color_cast")}


def test_learned_verdicts_decide_exposure_and_cast():
    image, mask = _lesion()
    assert check_quality(image, mask, detector=_Verdict(), features=np.ones(3)).ok
    dark = check_quality(image, mask, detector=_Verdict(dark=True), features=np.ones(3))
    assert [c.name for c in dark.failed] == ["exposure"]
    assert "too dark" in dark["exposure"].message
    bright = check_quality(image, mask, detector=_Verdict(bright=True), features=np.ones(3))
    assert "overexposed" in bright["exposure"].message
    cast = check_quality(image, mask, detector=_Verdict(color_cast=True), features=np.ones(3))
    assert [c.name for c in cast.failed] == ["color_cast"]
    assert "cast" in cast["color_cast"].message


def test_without_features_the_fixed_rules_decide():
    image, mask = _lesion()
    report = check_quality(image, mask, detector=_Verdict(dark=True), features=None)
    assert report.ok
    assert not check_quality(np.zeros((60, 60, 3), np.uint8)).ok  # the dark rule


# === The detector shipped with the model ===

needs_detector = pytest.mark.skipif(
    not (default_model_dir() / PHOTOMETRIC_FILE).is_file(),
    reason=f"no {PHOTOMETRIC_FILE} in {default_model_dir()} (run skinapp.evaluate --trust)",
)


@needs_detector
def test_shipped_detector_passes_the_samples_and_flags_their_degraded_copies(sample_paths):
    from skinapp.io import read_image
    from skinapp.serving import Classifier

    clf = Classifier(default_model_dir())
    assert clf.photometric is not None, "quality.npz was fitted for another model version"
    for path in sample_paths[:3]:
        image = read_image(path)
        pred = clf.predict(image)
        assert pred.features.shape == (clf.photometric.n_inputs - N_STATS,)
        verdict = clf.photometric.judge(image, pred.features)
        assert not any(flag for _, flag in verdict.values()), (path.name, verdict)
        for condition, degraded in (
            ("dark", degrade.gamma(image, 3.0)),
            ("bright", degrade.gamma(image, 0.25)),
            ("color_cast", degrade.color_cast(image, 0.3, "blue")),
        ):
            features = clf.predict(degraded).features
            assert clf.photometric.judge(degraded, features)[condition][1], (path.name, condition)


@needs_detector
def test_a_detector_for_another_model_is_ignored(fitted, tmp_path, caplog):
    from skinapp.serving import Classifier

    for path in default_model_dir().iterdir():
        if path.is_file() and path.name != PHOTOMETRIC_FILE:
            (tmp_path / path.name).symlink_to(path)
    fitted[0].save(tmp_path / PHOTOMETRIC_FILE)  # model_version "v1"
    clf = Classifier(tmp_path)
    assert clf.photometric is None
    assert "fall back to fixed rules" in caplog.text


def test_jpeg_round_trip_keeps_the_photo_and_fills_histogram_gaps():
    image = degrade.gaussian_blur(_lesion()[0], 1.0)  # JPEG drops the fine pixel noise
    darkened = degrade.gamma(image, 2.0)
    resaved = degrade.jpeg(darkened, 90)
    assert resaved.shape == darkened.shape and resaved.dtype == np.uint8
    assert np.abs(resaved.astype(int) - darkened).mean() < 3
    levels = lambda im: len(np.unique(im[..., 0]))  # noqa: E731
    assert levels(resaved) > levels(darkened)  # the tone curve's gaps are filled in
