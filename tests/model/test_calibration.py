"""Tests for skinapp.model.calibration: recovery of known maps, robustness, serialisation."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.special import expit
from sklearn.metrics import roc_auc_score

from skinapp.model.calibration import (
    T_MIN,
    Calibration,
    apply_platt,
    apply_temperature,
    fit_calibration,
    fit_platt,
    fit_temperature,
    to_logits,
)
from skinapp.model.metrics import expected_calibration_error


def true_logits(n: int = 20_000, scale: float = 2.0, seed: int = 0):
    """Well-calibrated logits ``z0`` and labels drawn from ``sigmoid(z0)``."""
    rng = np.random.default_rng(seed)
    z0 = rng.normal(0.0, scale, n)
    y = (rng.random(n) < expit(z0)).astype(int)
    return z0, y


# === Temperature ===


@pytest.mark.parametrize("t0", [0.5, 1.0, 2.0, 4.0])
def test_fit_temperature_recovers_known_temperature(t0):
    z0, y = true_logits(seed=1)
    temperature = fit_temperature(t0 * z0, y)  # sigmoid(logits / t0) is the true probability
    assert temperature == pytest.approx(t0, rel=0.08)


def test_temperature_lowers_ece_on_overconfident_logits():
    z0, y = true_logits(seed=2)
    logits = 3.0 * z0  # overconfident
    before = expected_calibration_error(y, expit(logits))
    after = expected_calibration_error(y, apply_temperature(logits, fit_temperature(logits, y)))
    assert after < before / 3
    assert after < 0.02


def test_temperature_keeps_the_ranking():
    z0, y = true_logits(n=2000, seed=3)
    p = apply_temperature(3.0 * z0, 2.7)
    assert roc_auc_score(y, p) == pytest.approx(roc_auc_score(y, z0))


def test_fit_temperature_on_separable_data_is_finite_and_warns():
    logits = np.r_[np.linspace(-5, -1, 50), np.linspace(1, 5, 50)]
    y = np.r_[np.zeros(50, int), np.ones(50, int)]
    with pytest.warns(UserWarning, match="bound"):
        temperature = fit_temperature(logits, y)
    assert temperature == pytest.approx(T_MIN, rel=1e-3)


@pytest.mark.parametrize("temperature", [0.0, -1.0, float("nan"), float("inf")])
def test_apply_temperature_rejects_invalid(temperature):
    with pytest.raises(ValueError, match="Received:"):
        apply_temperature([0.0, 1.0], temperature)


def test_fit_rejects_single_class():
    with pytest.raises(ValueError, match="both"):
        fit_temperature([0.1, 0.2, 0.3], [1, 1, 1])
    with pytest.raises(ValueError, match="both"):
        fit_platt([0.1, 0.2, 0.3], [0, 0, 0])


# === Platt ===


@pytest.mark.parametrize("shift", [-2.0, 1.5])
def test_platt_corrects_a_constant_shift(shift):
    z0, y = true_logits(seed=4)
    a, b = fit_platt(z0 + shift, y)
    assert a == pytest.approx(1.0, abs=0.06)
    assert b == pytest.approx(-shift, abs=0.1)
    shifted = expected_calibration_error(y, expit(z0 + shift))
    fixed = expected_calibration_error(y, apply_platt(z0 + shift, a, b))
    assert fixed < shifted / 5


def test_platt_on_separable_data_is_finite():
    logits = np.r_[np.linspace(-5, -1, 50), np.linspace(1, 5, 50)]
    y = np.r_[np.zeros(50, int), np.ones(50, int)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a, b = fit_platt(logits, y)
    assert np.isfinite([a, b]).all() and 0 < a <= 100


# === Calibration record ===


@pytest.mark.parametrize("method", ["temperature", "platt"])
def test_calibration_round_trip_and_apply(method):
    z0, y = true_logits(n=3000, seed=5)
    cal = fit_calibration(2.0 * z0 + 0.5, y, method)
    assert cal.method == method
    assert Calibration.from_dict(cal.to_dict()) == cal
    p = cal.apply(2.0 * z0 + 0.5)
    assert p.shape == z0.shape and ((p >= 0) & (p <= 1)).all()
    expected = (
        apply_temperature(2.0 * z0 + 0.5, cal.temperature)
        if method == "temperature"
        else apply_platt(2.0 * z0 + 0.5, cal.a, cal.b)
    )
    np.testing.assert_array_equal(p, expected)


def test_default_calibration_is_identity():
    z = np.array([-3.0, 0.0, 2.0])
    np.testing.assert_allclose(Calibration().apply(z), expit(z))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"method": "isotonic"},
        {"temperature": 0.0},
        {"temperature": float("nan")},
        {"method": "platt", "a": -1.0},
        {"method": "platt", "b": float("inf")},
    ],
)
def test_calibration_validates(kwargs):
    with pytest.raises(ValueError, match="Received:"):
        Calibration(**kwargs)


def test_calibration_from_dict_rejects_unknown_keys():
    with pytest.raises(ValueError, match="Unknown"):
        Calibration.from_dict({"method": "temperature", "temperature": 1.0, "bias": 2.0})


def test_fit_calibration_rejects_unknown_method():
    with pytest.raises(ValueError, match="method"):
        fit_calibration([0.0, 1.0], [0, 1], "isotonic")


def test_to_logits_inverts_sigmoid_and_clips():
    z = np.array([-4.0, 0.0, 3.0])
    np.testing.assert_allclose(to_logits(expit(z)), z, atol=1e-9)
    assert np.isfinite(to_logits([0.0, 1.0])).all()
