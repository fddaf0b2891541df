"""Tests for skinapp.model.metrics: agreement with scikit-learn, bootstrap CI, JSON safety."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    auc,
    average_precision_score,
    balanced_accuracy_score,
    brier_score_loss,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from skinapp.model.metrics import (
    _weighted_aucs,
    brier_score,
    calibration_table,
    curves,
    expected_calibration_error,
    roc_auc_with_ci,
    summarize,
    threshold_metrics,
)


def make_scores(n: int = 400, prevalence: float = 0.3, shift: float = 1.0, seed: int = 0):
    """Labels and probabilities where malignant lesions score higher on average."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < prevalence).astype(int)
    z = rng.normal(size=n) + shift * y
    return y, 1.0 / (1.0 + np.exp(-z))


def strict_json(obj) -> str:
    """Serialise, refusing NaN/inf (as metrics.json must)."""
    return json.dumps(obj, allow_nan=False)


# === ROC AUC and its CI ===
# Its speed (1,660 lesions, 2,000 resamples: target 2 s) is `metrics.auc_ci_s` of
# `python -m skinapp.bench`, not a timed test.


@pytest.mark.parametrize("n_levels", [3, 20, None])
def test_count_weighted_auc_matches_sklearn_including_ties(n_levels):
    y, p = make_scores(seed=1)
    if n_levels is not None:
        p = np.round(p * n_levels) / n_levels
    pos, neg = p[y == 1], p[y == 0]
    rng = np.random.default_rng(0)
    w_pos = np.vstack([np.ones(pos.size, int), rng.integers(0, 3, pos.size)])
    w_neg = np.vstack([np.ones(neg.size, int), rng.integers(0, 3, neg.size)])
    got = _weighted_aucs(pos, neg, w_pos, w_neg)
    assert got.shape == (2,)
    assert got[0] == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    # Counts are the same as repeating each lesion that many times.
    repeated = np.r_[np.repeat(pos, w_pos[1]), np.repeat(neg, w_neg[1])]
    labels = np.r_[np.ones(w_pos[1].sum()), np.zeros(w_neg[1].sum())]
    assert got[1] == pytest.approx(roc_auc_score(labels, repeated), abs=1e-12)


def test_bootstrap_aucs_agree_with_sklearn_on_the_same_resamples():
    y, p = make_scores(n=120, seed=2)
    pos, neg = p[y == 1], p[y == 0]
    n_boot, seed = 30, 7
    ci = roc_auc_with_ci(y, p, n_boot=n_boot, seed=seed, alpha=0.2)
    # Replay the same draws (one chunk: positives then negatives) and score them with sklearn.
    rng = np.random.default_rng(seed)
    pos_idx = rng.integers(0, pos.size, size=(n_boot, pos.size))
    neg_idx = rng.integers(0, neg.size, size=(n_boot, neg.size))
    labels = np.r_[np.ones(pos.size), np.zeros(neg.size)]
    ref = [
        roc_auc_score(labels, np.r_[pos[i], neg[j]]) for i, j in zip(pos_idx, neg_idx, strict=True)
    ]
    low, high = np.quantile(ref, [0.1, 0.9])
    assert (ci.low, ci.high) == pytest.approx((low, high), abs=1e-12)


def test_roc_auc_with_ci_point_estimate_and_fields():
    y, p = make_scores(seed=3)
    ci = roc_auc_with_ci(y, p, n_boot=300, seed=0)
    assert ci.auc == pytest.approx(roc_auc_score(y, p))
    assert 0.0 <= ci.low <= ci.auc <= ci.high <= 1.0
    assert (ci.n, ci.n_pos) == (y.size, int(y.sum()))
    assert strict_json(ci.to_dict())


def test_roc_auc_with_ci_is_reproducible_by_seed():
    y, p = make_scores(seed=4)
    a = roc_auc_with_ci(y, p, n_boot=200, seed=5)
    b = roc_auc_with_ci(y, p, n_boot=200, seed=5)
    c = roc_auc_with_ci(y, p, n_boot=200, seed=6)
    assert a == b
    assert (a.low, a.high) != (c.low, c.high)


def test_roc_auc_with_ci_accepts_logits():
    y, p = make_scores(seed=5)
    logits = np.log(p / (1 - p))
    assert roc_auc_with_ci(y, logits, n_boot=50).auc == pytest.approx(roc_auc_score(y, p))


@pytest.mark.parametrize("y", [np.zeros(20, int), np.ones(20, int)])
def test_roc_auc_with_ci_single_class_raises(y):
    with pytest.raises(ValueError, match="both benign and malignant"):
        roc_auc_with_ci(y, np.linspace(0, 1, 20))


@pytest.mark.parametrize(
    ("kwargs", "match"), [({"n_boot": 0}, "n_boot"), ({"alpha": 1.0}, "alpha")]
)
def test_roc_auc_with_ci_invalid_parameters(kwargs, match):
    y, p = make_scores(n=50)
    with pytest.raises(ValueError, match=match):
        roc_auc_with_ci(y, p, **kwargs)


@pytest.mark.parametrize(
    ("y", "p", "match"),
    [
        ([0, 1, 1], [0.1, 0.2], "same length"),
        ([0, 2, 1], [0.1, 0.2, 0.3], "Labels must be 0"),
        ([0, 1, 1], [0.1, np.nan, 0.3], "finite"),
        ([0, 1, 1], [0.1, 1.2, 0.3], r"\[0, 1\]"),
        ([], [], "at least one"),
        ([[0, 1]], [[0.1, 0.2]], "1-D"),
    ],
)
def test_invalid_inputs_raise_with_received(y, p, match):
    with pytest.raises(ValueError, match=match) as info:
        threshold_metrics(y, p, 0.5)
    assert "Received:" in str(info.value)


# === Threshold metrics ===


def test_threshold_metrics_hand_made_case():
    y = np.array([0, 0, 0, 0, 1, 1, 1])
    p = np.array([0.1, 0.2, 0.6, 0.5, 0.4, 0.5, 0.9])
    m = threshold_metrics(y, p, 0.5)  # p >= 0.5 is malignant
    assert (m["tp"], m["fp"], m["tn"], m["fn"]) == (2, 2, 2, 1)
    assert m["sensitivity"] == pytest.approx(2 / 3)
    assert m["specificity"] == pytest.approx(2 / 4)
    assert m["precision"] == pytest.approx(2 / 4)
    assert m["npv"] == pytest.approx(2 / 3)
    assert m["accuracy"] == pytest.approx(4 / 7)
    assert m["balanced_accuracy"] == pytest.approx((2 / 3 + 2 / 4) / 2)
    assert m["f1"] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))


def test_threshold_metrics_agree_with_sklearn():
    y, p = make_scores(seed=7)
    m = threshold_metrics(y, p, 0.55)
    pred = (p >= 0.55).astype(int)
    assert m["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, pred))
    assert m["precision"] == pytest.approx(precision_score(y, pred))
    assert m["sensitivity"] == pytest.approx(recall_score(y, pred))
    assert m["f1"] == pytest.approx(f1_score(y, pred))
    assert m["tp"] + m["fp"] + m["tn"] + m["fn"] == y.size


def test_threshold_metrics_rejects_non_finite_threshold():
    with pytest.raises(ValueError, match="Received:"):
        threshold_metrics([0, 1], [0.2, 0.8], float("nan"))


def test_threshold_metrics_undefined_ratios_are_none():
    y = np.array([0, 0, 1, 1])
    m = threshold_metrics(y, [0.1, 0.2, 0.3, 0.4], 0.9)  # nothing called malignant
    assert m["precision"] is None
    assert m["sensitivity"] == 0.0
    assert strict_json(m)
    m = threshold_metrics(np.zeros(4, int), [0.1, 0.2, 0.3, 0.4], 0.25)  # no malignant
    assert m["sensitivity"] is None and m["balanced_accuracy"] is None
    assert m["specificity"] == 0.5


# === Curves ===


def test_curves_are_finite_and_consistent_with_sklearn():
    y, p = make_scores(seed=8)
    out = curves(y, p)
    roc, pr = out["roc"], out["pr"]
    assert list(roc.columns) == ["threshold", "fpr", "tpr"]
    assert list(pr.columns) == ["threshold", "precision", "recall"]
    for df in (roc, pr):
        assert np.isfinite(df.to_numpy()).all()
        assert df["threshold"].between(0, 1).all()
    assert roc.iloc[0][["fpr", "tpr"]].tolist() == [0.0, 0.0]
    assert roc.iloc[-1][["fpr", "tpr"]].tolist() == [1.0, 1.0]
    assert auc(roc["fpr"], roc["tpr"]) == pytest.approx(roc_auc_score(y, p))
    assert pr.iloc[-1][["precision", "recall"]].tolist() == [1.0, 0.0]
    ap = -np.sum(np.diff(pr["recall"]) * pr["precision"].to_numpy()[:-1])
    assert ap == pytest.approx(average_precision_score(y, p))


# === Calibration ===


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
@pytest.mark.parametrize("n_bins", [1, 5, 10])
def test_calibration_table_matches_sklearn(strategy, n_bins):
    y, p = make_scores(seed=9)
    table = calibration_table(y, p, n_bins=n_bins, strategy=strategy)
    frac_pos, p_mean = calibration_curve(y, p, n_bins=n_bins, strategy=strategy)
    assert list(table.columns) == ["bin", "bin_low", "bin_high", "p_mean", "frac_pos", "count"]
    np.testing.assert_allclose(table["frac_pos"], frac_pos)
    np.testing.assert_allclose(table["p_mean"], p_mean)
    assert table["count"].sum() == y.size
    assert (table["count"] > 0).all()


def test_calibration_table_invalid_parameters():
    y, p = make_scores(n=30)
    with pytest.raises(ValueError, match="strategy"):
        calibration_table(y, p, strategy="kmeans")
    with pytest.raises(ValueError, match="n_bins"):
        calibration_table(y, p, n_bins=0)


def test_ece_hand_made_case():
    # Bin [0.1, 0.2): 4 lesions, mean p 0.15, 1 malignant -> |0.25 - 0.15| = 0.10, weight 4/6.
    # Bin [0.9, 1.0]: 2 lesions, mean p 0.95, 2 malignant -> |1.0 - 0.95| = 0.05, weight 2/6.
    y = np.array([1, 0, 0, 0, 1, 1])
    p = np.array([0.12, 0.14, 0.16, 0.18, 0.9, 1.0])
    expected = 4 / 6 * 0.10 + 2 / 6 * 0.05
    assert expected_calibration_error(y, p, n_bins=10) == pytest.approx(expected)


def test_ece_closed_form_and_calibrated_data():
    y, p = make_scores(n=2000, seed=10)
    bins = np.minimum((p * 10).astype(int), 9)  # equal-width bins, last one closed
    ref = sum(
        (bins == b).mean() * abs(y[bins == b].mean() - p[bins == b].mean()) for b in np.unique(bins)
    )
    assert expected_calibration_error(y, p) == pytest.approx(ref)
    rng = np.random.default_rng(0)
    q = rng.random(50_000)
    assert expected_calibration_error(rng.random(q.size) < q, q) < 0.02


def test_brier_score():
    y, p = make_scores(seed=11)
    assert brier_score(y, p) == pytest.approx(np.mean((p - y) ** 2))
    assert brier_score(y, p) == pytest.approx(brier_score_loss(y, p))


# === Summary ===


def test_summarize_is_strict_json_and_agrees_with_sklearn():
    y, p = make_scores(seed=12)
    s = summarize(y, p, 0.5, n_boot=100, seed=0)
    strict_json(s)
    assert s["roc_auc"]["auc"] == pytest.approx(roc_auc_score(y, p))
    assert s["pr_auc"] == pytest.approx(average_precision_score(y, p))
    assert s["brier"] == pytest.approx(brier_score_loss(y, p))
    assert s["n"] == y.size and s["n_malignant"] == y.sum()
    m = s["threshold_metrics"]
    assert s["confusion_matrix"]["matrix"] == [[m["tn"], m["fp"]], [m["fn"], m["tp"]]]
    assert "by_group" not in s


def test_summarize_per_group_with_unreliable_groups():
    y, p = make_scores(n=300, seed=13)
    groups = pd.Series(["big"] * 300, index=np.arange(300) + 1000)  # index is ignored
    y[:20], groups.iloc[:20] = 0, "benign_only"
    y[20:30], groups.iloc[20:30] = [1, 1, 1, 0, 0, 0, 0, 0, 0, 0], "tiny"
    groups.iloc[30:35] = None
    s = summarize(y, p, 0.5, groups=groups, n_boot=100)
    strict_json(s)
    by = s["by_group"]
    assert set(by) == {"big", "benign_only", "tiny", "unknown"}
    assert sum(g["n"] for g in by.values()) == y.size
    assert by["big"]["roc_auc"]["auc"] == pytest.approx(
        roc_auc_score(y[groups.to_numpy() == "big"], p[groups.to_numpy() == "big"])
    )
    for name in ("benign_only", "tiny", "unknown"):
        assert by[name]["roc_auc"] is None and by[name]["pr_auc"] is None
        assert "note" in by[name]
    assert "single class" in by["benign_only"]["note"]
    assert by["benign_only"]["threshold_metrics"]["sensitivity"] is None


def test_summarize_rejects_misaligned_groups_and_single_class():
    y, p = make_scores(n=50)
    with pytest.raises(ValueError, match="groups"):
        summarize(y, p, 0.5, groups=pd.Series(["a"] * 49), n_boot=10)
    with pytest.raises(ValueError, match="both"):
        summarize(np.zeros(50, int), p, 0.5, n_boot=10)
