"""Test-time augmentation: the views, the interval, and the shipped classifier's TTA answer."""

from __future__ import annotations

import json

import numpy as np
import pytest

from skinapp.serving import Classifier, default_model_dir
from skinapp.trust.tta import N_VIEWS, TRUST_FILE, load_tta_calibration, spread, tta_views


def test_views_are_the_eight_symmetries():
    image = np.arange(4 * 4 * 3, dtype=np.uint8).reshape(4, 4, 3)
    views = tta_views(image)
    assert views.shape == (N_VIEWS, 4, 4, 3) and views.dtype == np.uint8
    assert np.array_equal(views[0], image)
    assert len({v.tobytes() for v in views}) == N_VIEWS
    with pytest.raises(ValueError, match="square"):
        tta_views(np.zeros((4, 5, 3), np.uint8))


@pytest.mark.parametrize(
    ("p", "unstable"),
    [([0.01, 0.05], False), ([0.05, 0.08], True), ([0.2, 0.3], False), ([0.3, 0.5], True)],
)
def test_interval_is_unstable_when_it_crosses_a_grade_threshold(p, unstable):
    s = spread(np.array(p), (0.07, 0.35))
    assert (s.low, s.high, s.unstable, s.n_views) == (min(p), max(p), unstable, 2)


def test_tta_calibration_is_ignored_for_another_model(tmp_path):
    block = {
        "model_version": "other",
        "calibration": {"method": "platt", "a": 1.0, "b": 0.0, "temperature": 1.0},
        "thresholds": {"t1": 0.1, "t2": 0.4, "operating": 0.2},
    }
    (tmp_path / TRUST_FILE).write_text(json.dumps({"tta": block}))
    assert load_tta_calibration(tmp_path, "mine") is None
    calibration, thresholds = load_tta_calibration(tmp_path, "other")
    assert calibration.a == 1.0 and thresholds.t2 == 0.4
    assert load_tta_calibration(tmp_path / "missing", "other") is None
    (tmp_path / TRUST_FILE).write_text(json.dumps({"tta": {**block, "used_in_app": False}}))
    assert load_tta_calibration(tmp_path, "other") is None


@pytest.mark.skipif(
    not (default_model_dir() / "model.tflite").is_file(), reason="no shipped model in models/"
)
def test_shipped_tta_prediction_has_a_consistent_interval(sample_paths):
    from skinapp.io import read_image
    from skinapp.model.grading import assign_grade

    clf = Classifier(default_model_dir())
    image = read_image(sample_paths[1])
    single, tta = clf.predict(image), clf.predict(image, tta=True)
    assert single.p_low is None and single.n_views == 1
    assert tta.p_low <= tta.p_malignant <= tta.p_high
    assert tta.heatmap is not None and tta.heatmap.shape == single.heatmap.shape
    assert tta.ood_score == single.ood_score
    if clf.tta_calibration is not None:  # trust.json made for this model
        assert tta.n_views == N_VIEWS
        assert tta.grade == assign_grade(tta.p_malignant, clf.tta_thresholds)
    else:
        assert tta.p_malignant == single.p_malignant
