"""Dashboard text about the learned quality checks, from a trust.json-shaped dict."""

from __future__ import annotations

from skinapp.ui.trust import _photometric_caption


def test_caption_names_training_out_of_fold_rates_and_jpeg_detection():
    quality = {
        "photometric": {
            "used": True,
            "method": "logistic regression",
            "trained_on": {"dark": ["gamma 2.0"], "color_cast": ["blue cast 0.2"]},
            "val_out_of_fold": {
                "dark": {"false_alarms_out_of_fold": 0.02, "detection_out_of_fold": [0.93, 0.99]},
            },
        },
        "degradations": {
            "gamma_dark": {"detection_at_auc_drop_level_jpeg90": 0.913},
            "crop_cut": {"auc_drop_level": None},
        },
    }
    text = _photometric_caption(quality)
    assert "dark: gamma 2.0" in text and "blue cast 0.2" in text
    assert "dark 2.0% false alarms / 93.0% caught" in text
    assert "gamma_dark 91.3%" in text and "crop_cut" not in text


def test_caption_without_detector_says_rules():
    assert "fixed rules" in _photometric_caption({"photometric": {"used": False}})
    assert "fixed rules" in _photometric_caption({})
