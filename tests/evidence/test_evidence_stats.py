"""Paired AUC tests: p ≈ 1 for identical models, small p for a clearly better one."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from skinapp.evidence.stats import compare_aucs, delong_test, paired_bootstrap


def _data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    good = y + rng.normal(0, 0.5, n)
    weak = y + rng.normal(0, 2.0, n)
    return y, good, weak


def test_identical_scores_give_p_one():
    y, good, _ = _data()
    d = delong_test(y, good, good)
    b = paired_bootstrap(y, good, good, n_boot=200)
    assert d["diff"] == 0 and d["p"] == pytest.approx(1.0)
    assert b["diff"] == 0 and b["p"] == pytest.approx(1.0) and b["low"] == b["high"] == 0


def test_clearly_better_model_gives_small_p():
    y, good, weak = _data()
    d = delong_test(y, good, weak)
    b = paired_bootstrap(y, good, weak, n_boot=500)
    expected = roc_auc_score(y, good) - roc_auc_score(y, weak)
    assert d["diff"] == pytest.approx(expected) and b["diff"] == pytest.approx(expected)
    assert d["p"] < 1e-4 and b["p"] < 0.01
    assert 0 < b["low"] < expected < b["high"]
    assert d["low"] < expected < d["high"]
    # direction: b minus a is the negative
    assert delong_test(y, weak, good)["diff"] == pytest.approx(-expected)


def test_similar_models_are_not_called_different():
    y, good, _ = _data()
    rng = np.random.default_rng(5)
    tweak = good + rng.normal(0, 0.01, good.size)  # tiny perturbation of the same model
    assert delong_test(y, good, tweak)["p"] > 0.05
    assert paired_bootstrap(y, good, tweak, n_boot=300)["p"] > 0.05


def test_delong_auc_matches_sklearn_with_ties():
    y, good, _ = _data()
    tied = np.round(good)  # many ties
    assert delong_test(y, tied, good)["auc_a"] == pytest.approx(roc_auc_score(y, tied))


def test_delong_and_bootstrap_agree_on_the_interval():
    y, good, weak = _data(n=600, seed=3)
    out = compare_aucs(y, good, weak, n_boot=1000)
    d, b = out["delong"], out["bootstrap"]
    assert abs(d["se"] * 3.92 - (b["high"] - b["low"])) < 0.03  # widths of the two 95% CIs
    assert set(out["methods"]) == {"delong", "bootstrap"}


def test_single_class_is_rejected():
    with pytest.raises(ValueError):
        delong_test([1, 1, 1], [0.1, 0.2, 0.3], [0.3, 0.2, 0.1])
