"""Pure helpers behind the issue-18 pages: threshold words, memoised Lab classifier, image
aspect for the pipeline strip, setting labels, lesion-aligned fade/flicker, shipped gallery.

Behaviours: counts at a threshold reproduce the saved confusion matrix at the operating
threshold and the sentences give per-100 figures; the memo answers repeated pixels without
calling the model again and forgets the oldest; a square image is padded (not stretched) to
the photo's aspect; settings are named by their Lab labels; two visits aligned on their
outlines put both lesion centres at the canvas centre; fade and flicker keep the shapes;
only licensed gallery rows are shipped, CC0 first.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from skinapp.evidence.gallery import shippable
from skinapp.serving import default_model_dir
from skinapp.store.compare import align_on_lesion, blend, flicker_gif
from skinapp.ui.memo import MemoClassifier
from skinapp.ui.threshold import confusion_at, counts_at, grade_sentence, threshold_sentence
from skinapp.ui.views import same_aspect
from skinapp.ui.widgets import setting_label

MODELS = default_model_dir()


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "label": ["malignant"] * 4 + ["benign"] * 6,
            "p_malignant": [0.9, 0.6, 0.3, 0.05, 0.7, 0.4, 0.2, 0.1, 0.05, 0.01],
        }
    )


def test_counts_and_sentences_at_a_threshold():
    counts = counts_at(_frame(), 0.3)
    assert (counts["tp"], counts["fn"], counts["fp"], counts["tn"]) == (3, 1, 2, 4)
    assert confusion_at(counts)["matrix"] == [[4, 2], [1, 3]]
    sentence = threshold_sentence(counts)
    assert "At p ≥ 0.300: of 100 malignant lesions, 75 would be flagged and 25 missed" in sentence
    assert "of 100 benign lesions, 33 would be flagged needlessly" in sentence
    assert grade_sentence(_frame(), 0.1, 0.5).startswith(
        "Of 100 malignant lesions, 75 are in grade 2 or 3 (25 in grade 1)"
    )


@pytest.mark.skipif(not (MODELS / "test_predictions.csv").is_file(), reason="no predictions")
def test_counts_reproduce_the_saved_confusion_matrix_at_the_operating_threshold():
    saved = json.loads((MODELS / "confusion.json").read_text())
    counts = counts_at(pd.read_csv(MODELS / "test_predictions.csv"), saved["threshold"])
    assert confusion_at(counts)["matrix"] == saved["matrix"]


def test_memo_classifier_answers_repeated_pixels_from_memory():
    calls = []

    class Model:
        version = "v9"

        def predict(self, image, *, tta=False):
            calls.append(tta)
            return (float(image.mean()), tta)

    memo = MemoClassifier(Model(), size=2)
    a, b, c = (np.full((8, 8, 3), v, np.uint8) for v in (1, 2, 3))
    assert memo.predict(a) == (1.0, False) and memo.predict(a.copy()) == (1.0, False)
    assert memo.predict(a, tta=True) == (1.0, True)
    assert len(calls) == 2 and memo.version == "v9"
    memo.predict(b)
    memo.predict(c)  # a is forgotten (size 2)
    memo.predict(a)
    assert len(calls) == 5


def test_square_model_input_is_padded_to_the_photo_aspect():
    square = np.zeros((224, 224, 3), np.uint8)
    padded = same_aspect(square, 300, 400)
    assert padded.shape == (224, 299, 3)
    assert (padded[:, :37] == 255).all() and (padded[:, 37:261] == 0).all()
    photo = np.zeros((300, 400, 3), np.uint8)
    assert same_aspect(photo, 300, 400) is photo


def test_settings_are_named_by_their_lab_labels():
    assert setting_label("pipeline.hair_removal.kernel_size") == "Hair removal › Kernel size"
    assert setting_label("classify_preprocessed") == "Give the model the preprocessed image"
    assert setting_label("segment.unknown_field").startswith("Segmentation › ")


def _disc(cx: int, cy: int, size=(80, 120)) -> tuple[np.ndarray, np.ndarray]:
    image = np.full((*size, 3), 200, np.uint8)
    angles = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    contour = np.stack([cx + 10 * np.cos(angles), cy + 10 * np.sin(angles)], 1).astype(np.int32)
    return image, contour


def test_two_visits_align_on_their_lesion_centres_and_fade_or_flicker():
    (a, ca), (b, cb) = _disc(30, 30), _disc(90, 50)
    pair = align_on_lesion(a, ca, None, b, cb, None)
    assert pair.first.shape == pair.second.shape
    h, w = pair.first.shape[:2]
    for image in (pair.first, pair.second):  # the green outline surrounds the centre
        green = np.argwhere((image[..., 1] > 150) & (image[..., 0] < 100))
        centre = green.mean(axis=0)
        assert abs(centre[0] - h / 2) < 2 and abs(centre[1] - w / 2) < 2
    assert blend(pair.first, pair.second, 0.0).tolist() == pair.first.tolist()
    with pytest.raises(ValueError, match="weight"):
        blend(pair.first, pair.second, 1.5)
    with Image.open(io.BytesIO(flicker_gif(pair.first, pair.second))) as gif:
        assert gif.format == "GIF" and gif.n_frames == 2


def test_only_licensed_gallery_rows_are_shipped_cc0_first():
    gallery = pd.DataFrame(
        {
            "image_id": ["a", "b", "c", "d", "e"],
            "kind": ["false_negative"] * 3 + ["true_negative"] * 2,
            "license": ["CC BY-NC 4.0", "unknown", "CC0 1.0", "CC BY-NC 4.0", "CC BY 4.0"],
        }
    )
    assert list(shippable(gallery, per_kind=1)["image_id"]) == ["c", "d"]
