"""Pure text helpers of skinapp.ui.views that read saved evaluation files."""

from __future__ import annotations

from skinapp.ui.metrics_views import cross_validation_caption


def test_cross_validation_caption_reads_folds_json():
    folds = {
        "folds": 3,
        "per_fold": [{"held_out_auc": 0.9}, {"held_out_auc": 0.88}, {"held_out_auc": 0.92}],
        "held_out_auc": {"mean": 0.9, "sd": 0.02},
        "val_auc": {"mean": 0.885, "sd": 0.004},
        "note": "test never used.",
    }
    text = cross_validation_caption(folds)
    assert "3-fold" in text and "0.900 ± 0.020" in text and "0.885 ± 0.004" in text
    assert "0.880" in text and "test never used." in text


def test_cross_validation_caption_without_file_says_how_to_make_it():
    assert "make cv" in cross_validation_caption(None)
