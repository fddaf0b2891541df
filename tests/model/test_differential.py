"""Differential diagnosis: calibration fit (known answer), top-call rule, names, the file."""

import json

import numpy as np
import pytest

from skinapp.model.differential import (
    DIFFERENTIAL_FILE,
    DX_NAMES,
    Differential,
    DifferentialCalibration,
    balanced_accuracy,
    choose_offsets,
    fit_differential,
    fit_scaling,
    load_differential,
    log_softmax,
    plain_name,
    top_call,
)
from skinapp.model.verdict import answer_label, verdict

CLASSES = ("akiec", "bcc", "bkl", "df", "mel", "nv", "vasc")
MALIGNANT = ("akiec", "bcc", "mel")
MASK = np.array([c in MALIGNANT for c in CLASSES])


def _synthetic(n, w, b, seed=0):
    """Log-probs z and labels drawn from softmax(w * z + b): the known answer is (w, b)."""
    rng = np.random.default_rng(seed)
    z = log_softmax(rng.normal(0, 2.0, (n, len(w))))
    true = np.exp(log_softmax(z * w + b))
    y = np.array([rng.choice(len(w), p=row) for row in true])
    return z, y


def test_vector_scaling_recovers_known_parameters():
    w = np.array([0.5, 0.7, 1.5, 1.0, 0.8, 1.2, 0.6])
    b = np.array([0.3, -0.2, 0.0, -0.5, 0.4, 0.1, -0.1])
    z, y = _synthetic(20000, w, b)
    weight, bias = fit_scaling(z, y, method="vector", l2=0.0)
    assert np.allclose(np.diag(weight), w, atol=0.06)
    # softmax is invariant to a constant shift of b: compare centred
    assert np.allclose(bias - bias.mean(), b - b.mean(), atol=0.08)
    assert np.allclose(weight - np.diag(np.diag(weight)), 0.0)


def test_matrix_scaling_fits_at_least_as_well_as_vector_in_sample():
    w = np.array([0.5, 0.7, 1.5, 1.0, 0.8, 1.2, 0.6])
    z, y = _synthetic(3000, w, np.zeros(7), seed=1)

    def nll(weight, bias):
        ls = log_softmax(z @ weight.T + bias)
        return -ls[np.arange(len(y)), y].mean()

    identity = nll(np.eye(7), np.zeros(7))
    vec = nll(*fit_scaling(z, y, method="vector", l2=0.0))
    mat = nll(*fit_scaling(z, y, method="matrix", l2=0.0))
    assert mat <= vec + 1e-6 < identity


def test_fit_scaling_rejects_bad_input():
    with pytest.raises(ValueError, match="class indices"):
        fit_scaling(np.zeros((3, 2)), [0, 1, 2])
    with pytest.raises(ValueError, match="method"):
        fit_scaling(np.zeros((2, 2)), [0, 1], method="dirichlet-ish")
    with pytest.raises(ValueError, match=r"\(N, C\)"):
        fit_scaling(np.zeros(3), [0, 1, 0])


def _calibration(offsets=None):
    return DifferentialCalibration(
        classes=CLASSES,
        malignant=MALIGNANT,
        weight=np.eye(7),
        bias=np.zeros(7),
        offsets=np.zeros(7) if offsets is None else np.asarray(offsets, float),
        model_version="abc",
    )


def test_malignant_classes_sum_to_the_grade_probability():
    rng = np.random.default_rng(3)
    z = log_softmax(rng.normal(0, 2, (50, 7)))
    p_mal = rng.uniform(0, 1, 50)
    probs = _calibration().probabilities(z, p_mal)
    assert np.allclose(probs.sum(1), 1.0)
    assert np.allclose(probs[:, MASK].sum(1), p_mal)
    assert (probs >= 0).all()


def test_top_call_offsets_and_grade_one_rule():
    probs = np.array([[0.05, 0.05, 0.1, 0.08, 0.02, 0.6, 0.1]])
    assert CLASSES[top_call(probs, np.zeros(7), MASK)[0]] == "nv"
    # a large enough offset for a rare class makes it the call
    assert CLASSES[top_call(probs, [0, 0, 0, 2.5, 0, 0, 0], MASK)[0]] == "df"
    # grade 1: a malignant class is never the top call, however large its offset
    melanoma = np.array([[0.02, 0.01, 0.01, 0.01, 0.9, 0.04, 0.01]])
    assert CLASSES[top_call(melanoma, np.zeros(7), MASK)[0]] == "mel"
    assert CLASSES[top_call(melanoma, np.zeros(7), MASK, [True])[0]] == "nv"


def test_choose_offsets_raises_balanced_accuracy_for_a_rare_class():
    rng = np.random.default_rng(5)
    n_common, n_rare = 400, 20
    # the rare class (index 1) is always second best: plain arg-max never calls it
    common = np.column_stack([rng.uniform(0.6, 0.9, n_common), rng.uniform(0.0, 0.2, n_common)])
    rare = np.column_stack([rng.uniform(0.55, 0.7, n_rare), rng.uniform(0.3, 0.45, n_rare)])
    probs = np.vstack([common, rare])
    probs = probs / probs.sum(1, keepdims=True)
    y = np.array([0] * n_common + [1] * n_rare)
    mask = np.array([False, False])
    before = balanced_accuracy(y, top_call(probs, np.zeros(2), mask), 2)
    offsets = choose_offsets(probs, y, mask)
    after = balanced_accuracy(y, top_call(probs, offsets, mask), 2)
    assert before == pytest.approx(0.5)
    assert after > 0.9
    assert offsets[0] == 0.0  # the commonest class is the reference


def test_fit_differential_end_to_end_and_round_trip(tmp_path):
    w = np.array([0.5, 0.7, 1.5, 1.0, 0.8, 1.2, 0.6])
    z, y = _synthetic(2000, w, np.zeros(7), seed=2)
    p_mal = np.exp(z)[:, MASK].sum(1)
    grade = np.where(p_mal < 0.05, 1, np.where(p_mal < 0.35, 2, 3))
    fitted = fit_differential(
        z, y, p_mal, grade, classes=CLASSES, malignant=MALIGNANT, model_version="abc"
    )
    again = DifferentialCalibration.from_dict(json.loads(json.dumps(fitted.to_dict())))
    assert np.allclose(again.probabilities(z, p_mal), fitted.probabilities(z, p_mal), atol=1e-6)
    (tmp_path / DIFFERENTIAL_FILE).write_text(
        json.dumps({"tta": {"calibration": fitted.to_dict()}})
    )
    assert set(load_differential(tmp_path, "abc")) == {"tta"}
    assert load_differential(tmp_path, "other-model") == {}
    assert load_differential(tmp_path / "missing", "abc") == {}
    (tmp_path / DIFFERENTIAL_FILE).write_text('{"tta": {"calibration": {"classes": []}}}')
    assert load_differential(tmp_path, "abc") == {}


def test_plain_names_cover_every_class():
    assert set(DX_NAMES) == set(CLASSES)
    assert plain_name("nv") == "melanocytic nevus (mole)"
    assert plain_name("bcc") == "basal cell carcinoma"
    assert "seborrheic keratosis" in plain_name("bkl")
    assert plain_name("xyz") == "xyz"


class _Pred:
    def __init__(self, grade, p, n_views, differential):
        self.grade, self.p_malignant, self.n_views, self.differential = (
            grade,
            p,
            n_views,
            differential,
        )


def test_verdict_names_the_answer_and_puts_the_top_call_first():
    z = log_softmax(np.array([[0.0, 0.0, 1.0, 3.0, 0.5, 2.5, 0.0]]))[0]
    diff = _calibration(offsets=[0, 0, 0, 0, 0, 0, 0]).differential(z, 0.08, 2)
    assert isinstance(diff, Differential)
    assert diff.p_malignant == pytest.approx(0.08)
    v = verdict(_Pred(2, 0.08, 8, diff))
    assert v.headline == "Risk grade 2 of 3 · intermediate"
    assert v.answer == "8-view TTA" and answer_label(1) == "single view"
    assert [line.code for line in v.differential] == ["df", "nv", "bkl"]
    assert v.top == "df" and v.top_name == "dermatofibroma"
    assert v.differential_text().startswith("dermatofibroma ")
    assert "(top call)" in v.differential_text()
    # a top call that is not among the likeliest k is added after them
    rare = Differential(
        probs={
            "akiec": 0.01,
            "bcc": 0.01,
            "bkl": 0.2,
            "df": 0.05,
            "mel": 0.03,
            "nv": 0.6,
            "vasc": 0.1,
        },
        top="df",
        malignant=MALIGNANT,
    )
    assert [c for c, _ in rare.ranked(3)] == ["nv", "bkl", "vasc", "df"]
    assert [c for c, _ in rare.ranked(4)] == ["nv", "bkl", "vasc", "df"]
    # no benign/malignant word about the lesion in the verdict
    words = f"{v.headline} {v.advice} {v.differential_text()}".lower()
    assert "benign" not in words.replace("benign keratosis", "")
    assert verdict(_Pred(1, 0.01, 1, None)).differential == ()
