"""The shipped model in models/ loads from the committed files alone and behaves."""

import json
import threading

import numpy as np
import pytest

from skinapp.errors import ModelLoadError
from skinapp.io import read_image
from skinapp.serving import DEFAULT_MODEL_DIR as MODELS_DIR
from skinapp.serving import Classifier, load_classifier

pytestmark = pytest.mark.skipif(
    not (MODELS_DIR / "model.tflite").is_file(), reason="no shipped model in models/"
)


@pytest.fixture(scope="module")
def classifier():
    return Classifier(MODELS_DIR)


def test_shipped_model_reproduces_reference_outputs(classifier, sample_paths):
    reference = json.loads((MODELS_DIR / "reference_samples.json").read_text())
    assert set(reference) == {p.name for p in sample_paths}
    for path in sample_paths:
        pred = classifier.predict(read_image(path))
        ref = reference[path.name]
        assert pred.log_odds == pytest.approx(ref["log_odds"], abs=1e-3)
        assert pred.p_malignant == pytest.approx(ref["p_malignant"], abs=1e-4)
        assert pred.grade == ref["grade"]


def test_prediction_fields(classifier, sample_paths):
    pred = classifier.predict(read_image(sample_paths[0]))
    assert 0.0 <= pred.p_malignant <= 1.0
    assert pred.grade in (1, 2, 3)
    assert pred.label in ("benign", "malignant")
    assert sum(pred.class_probs.values()) == pytest.approx(1.0, abs=1e-4)
    assert pred.heatmap.shape == (7, 7)
    assert pred.heatmap.min() >= 0.0 and pred.heatmap.max() <= 1.0


def test_batch_equals_single(classifier, sample_paths):
    images = [read_image(p) for p in sample_paths]
    batch = classifier.predict_batch(images)
    singles = [classifier.predict(im) for im in images]
    for b, s in zip(batch, singles, strict=True):
        assert b.p_malignant == pytest.approx(s.p_malignant, abs=1e-5)


def test_tta_batch_equals_the_apps_single_answer(classifier, sample_paths):
    images = [read_image(p) for p in sample_paths[:3]]
    batch = classifier.predict_batch(images, tta=True)
    for b, im in zip(batch, images, strict=True):
        s = classifier.predict(im, tta=True)
        assert b.p_malignant == pytest.approx(s.p_malignant, abs=1e-5)
        assert (b.grade, b.p_low, b.p_high) == (
            s.grade,
            pytest.approx(s.p_low, abs=1e-5),
            pytest.approx(s.p_high, abs=1e-5),
        )


def test_grades_are_monotonic_in_probability(classifier):
    p = np.linspace(0, 1, 201)
    grades = np.asarray(classifier.grade(p))
    assert np.all(np.diff(grades) >= 0)
    t = classifier.thresholds
    assert 0 <= t.t1 <= t.t2 <= 1


def test_concurrent_predictions_agree(classifier, sample_paths):
    image = read_image(sample_paths[1])
    expected = classifier.predict(image).p_malignant
    results, errors = [], []

    def work():
        try:
            for _ in range(3):
                results.append(classifier.predict(image).p_malignant)
        except Exception as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert results == pytest.approx([expected] * 12, abs=1e-6)


def test_load_classifier_is_shared():
    assert load_classifier(MODELS_DIR) is load_classifier(MODELS_DIR)


def test_missing_model_dir_is_a_clear_error(tmp_path):
    with pytest.raises(ModelLoadError, match=r"skinapp\.train"):
        Classifier(tmp_path)


def test_litert_matches_the_shipped_keras_model(classifier, sample_paths):
    from skinapp.model.export import keras_logits, load_keras_model
    from skinapp.model.preprocessing import prepare_model_input

    batch = np.stack(
        [prepare_model_input(read_image(p), classifier.input_spec) for p in sample_paths]
    )
    lite_logits, _ = classifier.run(batch)
    ref_logits = keras_logits(load_keras_model(MODELS_DIR / "model.keras"), batch)
    p_lite = classifier.probability(classifier.log_odds(lite_logits))
    p_ref = classifier.probability(classifier.log_odds(ref_logits))
    assert np.abs(p_lite - p_ref).max() < 1e-4


@pytest.mark.skipif(
    not (MODELS_DIR / "differential.json").is_file(), reason="no differential.json in models/"
)
@pytest.mark.parametrize("tta", [False, True])
def test_differential_agrees_with_the_grade(classifier, sample_paths, tta):
    """Calibrated over the seven classes, its malignant classes sum to p_malignant (the grade's
    probability), and a grade-1 lesion never gets a malignant top call."""
    from skinapp.model.verdict import verdict

    for path in sample_paths:
        pred = classifier.predict(read_image(path), tta=tta)
        diff = pred.differential
        assert set(diff.probs) == set(classifier.classes)
        assert sum(diff.probs.values()) == pytest.approx(1.0, abs=1e-9)
        assert diff.p_malignant == pytest.approx(pred.p_malignant, abs=1e-9)
        assert diff.top in classifier.classes
        if pred.grade == 1:
            assert diff.top not in diff.malignant
        v = verdict(pred)
        assert v.answer == ("8-view TTA" if tta else "single view")
        assert v.top == diff.top and len(v.differential) >= 3
    batch = classifier.predict_batch([read_image(p) for p in sample_paths], tta=tta)
    for b, path in zip(batch, sample_paths, strict=True):
        single = classifier.predict(read_image(path), tta=tta)
        assert b.differential.top == single.differential.top
        for c in classifier.classes:
            assert b.differential.probs[c] == pytest.approx(single.differential.probs[c], abs=1e-5)


def test_interpreters_stay_allocated_for_one_image(classifier, sample_paths):
    # A batch goes through one image at a time: an interpreter allocated for 8 images keeps
    # some 60 MB more for good (issue 21), and the outputs are the same.
    images = [read_image(p) for p in sample_paths[:2]]
    classifier.predict(images[0], tta=True)
    classifier.predict_batch(images, tta=True)
    slots = list(classifier._slots.queue)
    assert slots and all(slot.batch == 1 for slot in slots)
    for slot in slots:
        assert slot.interpreter.get_input_details()[0]["shape"][0] == 1
