"""OOD detector on synthetic features; the shipped model tells a photo from a lesion."""

from __future__ import annotations

import numpy as np
import pytest

from skinapp.errors import ModelLoadError
from skinapp.serving import default_model_dir
from skinapp.trust.ood import OOD_FILE, fit_ood, load_ood, pool_features


@pytest.fixture(scope="module")
def features():
    rng = np.random.default_rng(0)
    basis = rng.normal(size=(8, 32))
    inliers = np.abs(rng.normal(size=(600, 8)) @ basis + 20)  # a low-rank cloud
    return inliers[:400], inliers[400:]


def test_scores_separate_far_points(features):
    train, val = features
    detector = fit_ood(train, val, n_components=8, quantile=0.98)
    outliers = np.abs(np.random.default_rng(1).normal(size=(50, 32)) * 5 + 20)
    assert detector.flag(detector.score(val)).mean() == pytest.approx(0.02, abs=0.011)
    assert detector.flag(detector.score(outliers)).all()
    assert detector.n_features == 32


def test_feature_maps_are_pooled(features):
    train, val = features
    detector = fit_ood(train, val, n_components=4)
    maps = np.broadcast_to(val[:, None, None, :], (len(val), 3, 3, 32))
    assert np.allclose(detector.score(maps), detector.score(val))
    assert pool_features(maps).shape == (len(val), 32)
    with pytest.raises(ValueError, match="fitted on 32 features"):
        detector.score(np.ones((2, 16)))
    with pytest.raises(ValueError):
        pool_features(np.ones(5))


def test_save_and_load_round_trip(features, tmp_path):
    detector = fit_ood(*features, n_components=4, model_version="abc")
    detector.save(tmp_path / OOD_FILE)
    loaded = load_ood(tmp_path / OOD_FILE)
    assert loaded.model_version == "abc"
    assert loaded.threshold == pytest.approx(detector.threshold)
    assert np.allclose(loaded.score(features[1]), detector.score(features[1]), rtol=1e-4)
    (tmp_path / "bad.npz").write_bytes(b"not npz")
    with pytest.raises(ModelLoadError, match="--trust"):
        load_ood(tmp_path / "bad.npz")


def test_invalid_quantile(features):
    with pytest.raises(ValueError, match="quantile"):
        fit_ood(*features, quantile=1.0)


# === The shipped model ===

needs_ood = pytest.mark.skipif(
    not (default_model_dir() / OOD_FILE).is_file(),
    reason=f"no {OOD_FILE} in {default_model_dir()} (run skinapp.evaluate --trust)",
)


@needs_ood
def test_shipped_model_flags_a_natural_photo_not_the_samples(sample_paths):
    skimage_data = pytest.importorskip("skimage.data")
    from skinapp.io import read_image
    from skinapp.serving import Classifier

    clf = Classifier(default_model_dir())
    assert clf.ood is not None, "ood.npz was fitted for another model version"
    samples = [clf.predict(read_image(p)) for p in sample_paths]
    cat = clf.predict(skimage_data.chelsea())
    assert not any(p.ood for p in samples)
    assert cat.ood
    assert cat.ood_score > max(p.ood_score for p in samples)
