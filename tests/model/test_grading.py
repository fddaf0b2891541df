"""Tests for skinapp.model.grading: threshold rules, grade assignment, grade table."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.metrics import roc_curve

from skinapp.model.grading import (
    GRADE_DISCLAIMER,
    GRADE_TEXT,
    GradeThresholds,
    assign_grade,
    choose_thresholds,
    grade_table,
    sensitivity_at_t1,
    specificity_at_t2,
)


def make_val(n: int = 1000, seed: int = 0):
    """Validation labels (30 % malignant) and overlapping calibrated-looking probabilities."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(int)
    p = 1.0 / (1.0 + np.exp(-(rng.normal(size=n) * 1.2 + 2.0 * y - 1.5)))
    return y, p


# === choose_thresholds ===


@pytest.mark.parametrize(("sens", "spec"), [(0.95, 0.90), (0.90, 0.80), (0.99, 0.95)])
@pytest.mark.parametrize("seed", [0, 1])
def test_choose_thresholds_meets_targets_on_its_data(sens, spec, seed):
    y, p = make_val(seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # operating may be clipped into [t1, t2]
        th = choose_thresholds(y, p, min_sensitivity=sens, min_specificity=spec)
    assert 0.0 <= th.t1 <= th.operating <= th.t2 <= 1.0
    assert sensitivity_at_t1(y, p, th.t1) >= sens
    assert specificity_at_t2(y, p, th.t2) >= spec


def test_t1_is_the_largest_and_t2_the_smallest_such_threshold():
    y, p = make_val(seed=2)
    th = choose_thresholds(y, p)
    # The next observed value above t1 loses sensitivity; the one below t2 loses specificity.
    assert sensitivity_at_t1(y, p, np.min(p[p > th.t1])) < 0.95
    assert specificity_at_t2(y, p, np.max(p[p < th.t2])) < 0.90
    assert th.t1 in p and th.t2 in p


def test_operating_threshold_maximises_youden_j():
    y, p = make_val(seed=3)
    th = choose_thresholds(y, p)
    fpr, tpr, _ = roc_curve(y, p, drop_intermediate=False)
    best = np.max(tpr - fpr)
    pred = p >= th.operating
    j = pred[y == 1].mean() - pred[y == 0].mean()
    assert j == pytest.approx(best)


@pytest.mark.filterwarnings("ignore:The specificity threshold")
def test_operating_threshold_is_clipped_into_grade_2_with_a_warning():
    y, p = make_val(seed=4)
    with pytest.warns(UserWarning, match="clipped"):
        th = choose_thresholds(y, p, min_specificity=0.3)
    assert th.operating == th.t2


@pytest.mark.filterwarnings("ignore:Youden threshold")
def test_well_separated_classes_get_t2_equal_t1_with_a_warning():
    y = np.r_[np.zeros(50, int), np.ones(50, int)]
    p = np.r_[np.linspace(0.0, 0.3, 50), np.linspace(0.7, 1.0, 50)]
    with pytest.warns(UserWarning, match="t2 set to t1"):
        th = choose_thresholds(y, p)
    assert th.t1 == th.t2
    assert sensitivity_at_t1(y, p, th.t1) >= 0.95
    assert specificity_at_t2(y, p, th.t2) >= 0.90


@pytest.mark.parametrize("label", [0, 1])
def test_choose_thresholds_single_class_raises(label):
    with pytest.raises(ValueError, match="both benign and malignant") as info:
        choose_thresholds(np.full(20, label), np.linspace(0, 1, 20))
    assert "Received:" in str(info.value)


@pytest.mark.parametrize(
    "kwargs", [{"min_sensitivity": 0.0}, {"min_sensitivity": 1.5}, {"min_specificity": -0.1}]
)
def test_choose_thresholds_invalid_targets(kwargs):
    y, p = make_val(n=100)
    with pytest.raises(ValueError, match="Received:"):
        choose_thresholds(y, p, **kwargs)


# === GradeThresholds ===


def test_grade_thresholds_round_trip():
    th = GradeThresholds(t1=0.1, t2=0.6, operating=0.3)
    assert GradeThresholds.from_dict(th.to_dict()) == th


@pytest.mark.parametrize(
    "values",
    [
        (0.7, 0.6, 0.5),
        (-0.1, 0.6, 0.5),
        (0.1, 1.1, 0.5),
        (0.1, 0.6, 1.5),
        (float("nan"), 0.6, 0.5),
    ],
)
def test_grade_thresholds_validate(values):
    with pytest.raises(ValueError, match="Received:"):
        GradeThresholds(*values)


def test_grade_thresholds_from_dict_needs_exact_keys():
    with pytest.raises(ValueError, match="keys"):
        GradeThresholds.from_dict({"t1": 0.1, "t2": 0.5})


# === assign_grade ===


def test_assign_grade_boundaries_and_types():
    th = GradeThresholds(t1=0.2, t2=0.6, operating=0.4)
    assert assign_grade(0.0, th) == 1 and isinstance(assign_grade(0.0, th), int)
    assert assign_grade(0.2, th) == 2  # p == t1 is grade 2
    assert assign_grade(0.6, th) == 3  # p == t2 is grade 3
    grades = assign_grade(np.array([[0.1, 0.3], [0.7, 1.0]]), th)
    assert grades.shape == (2, 2) and grades.dtype == np.int64
    assert grades.tolist() == [[1, 2], [3, 3]]


@pytest.mark.parametrize("p", [-0.01, 1.01, float("nan"), [0.5, 2.0]])
def test_assign_grade_rejects_invalid_probabilities(p):
    with pytest.raises(ValueError, match="Received:"):
        assign_grade(p, GradeThresholds(0.2, 0.6, 0.4))


unit = st.floats(0.0, 1.0, allow_nan=False)


@given(t=st.lists(unit, min_size=2, max_size=2), ps=st.lists(unit, min_size=1, max_size=50))
def test_assign_grade_is_monotonic_in_p(t, ps):
    th = GradeThresholds(t1=min(t), t2=max(t), operating=min(t))
    p = np.sort(np.array(ps))
    grades = assign_grade(p, th)
    assert np.all(np.diff(grades) >= 0)
    assert set(grades.tolist()) <= {1, 2, 3}
    assert [assign_grade(float(v), th) for v in p] == grades.tolist()


# === grade_table and rates ===


def test_grade_table_sums_and_rates():
    y, p = make_val(seed=5)
    th = choose_thresholds(y, p)
    table = grade_table(y, p, th)
    assert table["grade"].tolist() == [1, 2, 3]
    assert table["n"].sum() == y.size
    assert table["n_malignant"].sum() == y.sum()
    assert table["share"].sum() == pytest.approx(1.0)
    assert table["share_of_malignant"].sum() == pytest.approx(1.0)
    grades = assign_grade(p, th)
    for row in table.itertuples():
        assert row.malignancy_rate == pytest.approx(y[grades == row.grade].mean())
    # Malignant lesions are rare in grade 1: at most 1 - min_sensitivity of them.
    assert table.loc[0, "share_of_malignant"] <= 0.05


def test_grade_table_empty_grade_has_nan_rate():
    table = grade_table([0, 1], [0.1, 0.9], GradeThresholds(0.5, 0.5, 0.5))
    assert table["n"].tolist() == [1, 0, 1]
    assert np.isnan(table.loc[1, "malignancy_rate"])


def test_rates_need_the_relevant_class():
    with pytest.raises(ValueError, match="n_malignant=0"):
        sensitivity_at_t1([0, 0], [0.1, 0.2], 0.5)
    with pytest.raises(ValueError, match="n_benign=0"):
        specificity_at_t2([1, 1], [0.1, 0.2], 0.5)


def test_grade_text_and_disclaimer():
    assert set(GRADE_TEXT) == {1, 2, 3}
    assert all(isinstance(v, str) and v for v in GRADE_TEXT.values())
    assert "not a cancer stage" in GRADE_DISCLAIMER
    assert "histopathology" in GRADE_DISCLAIMER
    assert "not a diagnosis" in GRADE_DISCLAIMER
