"""The one decision "not a lesion" / "unusual" / ok, and what each allows."""

from __future__ import annotations

import dataclasses

import pytest

from skinapp.serving import Prediction
from skinapp.trust.decision import (
    NOT_A_LESION_MESSAGE,
    UNUSUAL_MESSAGE,
    UNUSUAL_WIDEN_LOGIT,
    Verdict,
    decide,
    widen,
)

BASE = Prediction(p_malignant=0.3, log_odds=-0.8, label="malignant", grade=2)


def _pred(**fields) -> Prediction:
    return dataclasses.replace(BASE, **fields)


def test_not_a_lesion_allows_nothing_and_wins_over_unusual():
    d = decide(_pred(ood=True, ood_score=2.0, unusual=True, p_low=0.2, p_high=0.4))
    assert d.verdict is Verdict.NOT_A_LESION and d.not_a_lesion and not d.unusual
    assert not (d.shows_result or d.can_save or d.can_report)
    assert d.message == NOT_A_LESION_MESSAGE
    assert d.p_low is None and d.p_high is None


def test_unusual_keeps_the_result_with_a_caution_and_a_wider_interval():
    d = decide(_pred(ood=False, unusual=True, p_low=0.2, p_high=0.4))
    assert d.verdict is Verdict.UNUSUAL and d.unusual
    assert d.shows_result and d.can_save and d.can_report
    assert d.message == UNUSUAL_MESSAGE
    assert d.p_low < 0.2 and d.p_high > 0.4
    assert (d.p_low, d.p_high) == pytest.approx(widen(0.2, 0.4, UNUSUAL_WIDEN_LOGIT))


def test_unusual_single_view_gets_an_interval_around_its_probability():
    d = decide(_pred(ood=False, unusual=True))
    assert d.p_low < BASE.p_malignant < d.p_high


def test_ok_keeps_the_tta_interval_as_it_is():
    d = decide(_pred(ood=False, unusual=False, p_low=0.2, p_high=0.4))
    assert d.verdict is Verdict.OK and d.message == ""
    assert (d.p_low, d.p_high) == (0.2, 0.4)
    assert d.shows_result and d.can_save and d.can_report


def test_no_detector_means_ok():
    d = decide(BASE)  # ood and unusual are None without models/ood.npz
    assert d.verdict is Verdict.OK and d.p_low is None


def test_widen_moves_outwards_on_the_log_odds_scale():
    low, high = widen(0.01, 0.99, 1.0)
    assert 0 < low < 0.01 and 0.99 < high < 1
    assert widen(0.3, 0.3, 0.0) == pytest.approx((0.3, 0.3))
