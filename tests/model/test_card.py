"""Model-card sections: cross-validation, photo-quality files and the stage-2 recipe."""

from __future__ import annotations

from skinapp.model.card import _callbacks_text, _folds_text, _quality_text


def test_folds_text_gives_mean_sd_and_each_fold():
    folds = {
        "folds": 5,
        "per_fold": [{"held_out_auc": v} for v in (0.91, 0.9, 0.92, 0.89, 0.9)],
        "held_out_auc": {"mean": 0.904, "sd": 0.0114},
        "val_auc": {"mean": 0.889, "sd": 0.003},
    }
    text = _folds_text(folds)
    assert "5-fold" in text and "0.904 ± 0.011" in text and "0.889 ± 0.003" in text
    assert "0.910, 0.900, 0.920, 0.890, 0.900" in text
    assert "make cv" in _folds_text(None)


def test_quality_text_lists_false_alarms_and_detection():
    trust = {
        "quality": {
            "auc_drop_threshold": 0.03,
            "false_alarms_test": {
                "focus": 0.01,
                "exposure": 0.039,
                "border": 0.047,
                "size": 0.013,
                "color_cast": 0.034,
            },
            "degradations": {
                "gamma_dark": {
                    "check": "exposure",
                    "auc_drop_level": 2.0,
                    "detection_at_auc_drop_level": 0.973,
                },
                "crop_cut": {"check": "border", "auc_drop_level": None},
            },
        }
    }
    text = _quality_text(trust)
    assert "exposure 3.9%" in text and "gamma_dark 2.0: 97.3% by the exposure check" in text
    assert "crop_cut" not in text  # never dropped the AUC by more than the threshold
    assert "--trust" in _quality_text(None)


def test_recipe_text_tells_weight_averaging_from_early_stopping():
    stopping = _callbacks_text({"patience": 4, "seed": 42})
    averaging = _callbacks_text({"patience": 4, "seed": 42, "average_from": 5})
    assert "early stopping (patience 4)" in stopping and "average" not in stopping
    assert "average of the weights from epoch 5 on" in averaging
