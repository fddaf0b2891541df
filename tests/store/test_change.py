"""The change rule on hand-made follow-ups: each criterion flags alone, just-below-threshold
changes and shrinking do not, missing outlines are reported, and the mm / share-of-photo
units are chosen as documented."""

from __future__ import annotations

import pytest

from skinapp.store.change import (
    AREA_GROWTH,
    ASYMMETRY_RISE,
    DIAMETER_GROWTH,
    NEW_COLOR_MIN_SHARE,
    LesionMeasures,
    assess_change,
    assess_lesion,
)

BROWN = {"dark_brown": 0.8, "light_brown": 0.2}


def measures(area=10.0, diameter=4.0, asym=0.10, colors=BROWN, p=0.2, grade=1, mm=True):
    if mm:
        return LesionMeasures(
            p_malignant=p,
            grade=grade,
            area_mm2=area,
            diameter_mm=diameter,
            area_share=area / 1000,
            diameter_share=diameter / 100,
            asymmetry=asym,
            color_shares=dict(colors),
        )
    return LesionMeasures(
        p_malignant=p,
        grade=grade,
        area_share=area / 1000,
        diameter_share=diameter / 100,
        asymmetry=asym,
        color_shares=dict(colors),
    )


def test_an_unchanged_lesion_is_not_flagged():
    result = assess_change(measures(), measures(area=10.5, diameter=4.1, asym=0.12))
    assert not result.flagged
    assert result.reasons == ()
    assert result.area_change == pytest.approx(0.05)


@pytest.mark.parametrize(
    ("later", "reason"),
    [
        (measures(area=10.0 * (1 + AREA_GROWTH) + 0.1, diameter=4.0), "Area grew"),
        (measures(diameter=4.0 * (1 + DIAMETER_GROWTH) + 0.05), "Diameter grew"),
        (measures(colors={**BROWN, "blue_gray": NEW_COLOR_MIN_SHARE}), "New colour: blue gray"),
        (measures(asym=0.10 + ASYMMETRY_RISE + 0.01), "Asymmetry rose"),
        (measures(grade=2, p=0.45), "Risk grade rose from 1 to 2"),
    ],
)
def test_each_criterion_flags_on_its_own(later, reason):
    result = assess_change(measures(), later)
    assert result.flagged
    assert len(result.reasons) == 1
    assert result.reasons[0].startswith(reason)


@pytest.mark.parametrize(
    "later",
    [
        measures(area=10.0 * (1 + AREA_GROWTH) - 0.1),
        measures(diameter=4.0 * (1 + DIAMETER_GROWTH) - 0.05),
        measures(colors={**BROWN, "black": NEW_COLOR_MIN_SHARE - 0.01}),
        measures(asym=0.10 + ASYMMETRY_RISE - 0.01),
        measures(p=0.35),  # probability moved, grade did not
    ],
)
def test_changes_just_below_a_threshold_do_not_flag(later):
    assert not assess_change(measures(), later).flagged


def test_shrinking_fading_and_lower_grade_never_flag():
    earlier = measures(
        area=20, diameter=6, asym=0.4, grade=3, p=0.8, colors={**BROWN, "black": 0.5}
    )
    assert not assess_change(earlier, measures()).flagged


def test_a_colour_present_before_is_not_new():
    earlier = measures(colors={**BROWN, "black": 0.06})
    later = measures(colors={**BROWN, "black": 0.30})
    assert assess_change(earlier, later).new_colors == ()


def test_sizes_use_mm_when_both_visits_have_a_scale_else_the_photo_share():
    assert assess_change(measures(), measures(area=13)).size_unit == "mm"
    mixed = assess_change(measures(), measures(area=13, mm=False))
    assert mixed.size_unit == "share of photo"
    assert mixed.area_change == pytest.approx(0.3)


def test_a_visit_without_an_outline_is_reported_not_assessed():
    no_outline = LesionMeasures(p_malignant=0.3, grade=2)
    result = assess_change(measures(), no_outline)
    assert set(result.not_assessed) == {"area", "diameter", "colours", "asymmetry"}
    assert result.area_change is None
    assert result.reasons == ("Risk grade rose from 1 to 2.",)


def test_lesion_follow_up_compares_latest_with_first_and_previous():
    slow = [measures(area=10), measures(area=11.5), measures(area=12.5)]  # +15 %, +9 %
    assert not assess_lesion(slow[:2]).flagged
    overall = assess_lesion(slow)
    assert overall.flagged  # +25 % since the first visit
    assert overall.area_change == pytest.approx(0.25)

    recent = [measures(), measures(), measures(colors={**BROWN, "white": 0.2})]
    result = assess_lesion(recent)
    assert result.flagged
    assert result.new_colors == ("white",)
    assert assess_lesion(recent[:1]) is None


def test_measures_from_a_stored_record():
    descriptors = {
        "area_px": 400,
        "diameter_px": 25.0,
        "asymmetry": 0.2,
        "color_shares": {"black": 0.5},
        "area_mm2": None,
        "diameter_mm": None,
    }
    m = LesionMeasures.from_record(
        p_malignant=0.5, grade=2, descriptors=descriptors, image_size=(40, 20)
    )
    assert m.area_share == pytest.approx(0.5)
    assert m.diameter_share == pytest.approx(25 / 40)
    assert m.colors == ("black",)
    empty = LesionMeasures.from_record(
        p_malignant=0.5, grade=2, descriptors=None, image_size=(4, 4)
    )
    assert empty.area_share is None
