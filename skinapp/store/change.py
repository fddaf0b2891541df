"""The change rule: when does a lesion's follow-up deserve a closer look?

Change over time is the strongest sign of early melanoma in sequential digital dermoscopy,
so the History page flags a lesion **for review** when, between an earlier and a later
visit, any of these holds:

- its **area** grew by more than :data:`AREA_GROWTH` (relative);
- its **diameter** grew by more than :data:`DIAMETER_GROWTH` (relative);
- a dermoscopic **colour** appeared that covers at least :data:`NEW_COLOR_MIN_SHARE` of it;
- its **asymmetry** score rose by more than :data:`ASYMMETRY_RISE` (absolute);
- its **risk grade** rose (:data:`GRADE_RISE`).

This is a **heuristic** to draw attention, not a validated diagnostic rule: the thresholds
are set above the differences we expect between two photos of an *unchanged* lesion
(border placement of the automatic outline, lighting, framing), not fitted to outcomes.
Shrinking, fading or a lower grade never flag. Sizes are compared in millimetres when both
visits have a scale; otherwise relative to the photo (area as a share of the image, diameter
as a share of its long side), which assumes the same dermatoscope and magnification.

Everything here is pure: plain numbers in, a :class:`ChangeAssessment` out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from skinapp.vision.descriptors import COLOR_MIN_SHARE

__all__ = [
    "AREA_GROWTH",
    "ASYMMETRY_RISE",
    "DIAMETER_GROWTH",
    "GRADE_RISE",
    "NEW_COLOR_MIN_SHARE",
    "ChangeAssessment",
    "LesionMeasures",
    "assess_change",
    "assess_lesion",
]

#: Relative area growth that flags (0.20 = +20 %). Automatic outlines of one unchanged
#: lesion in two photos differ by several percent of area (border pixels, lighting,
#: framing); 20 % leaves a margin above that and matches the "enlargement" that
#: follow-up protocols ask clinicians to look for.
AREA_GROWTH = 0.20
#: Relative growth of the maximum diameter that flags (0.10 = +10 %): the diameter of a
#: shape whose area grew 20 % grows about 10 % (sqrt(1.2) ≈ 1.095), so both criteria
#: agree for uniform growth; the diameter one also catches growth in one direction.
DIAMETER_GROWTH = 0.10
#: A colour counts as *new* when absent before and covering at least this share of the
#: lesion now: twice the 5 % presence threshold of the descriptors
#: (:data:`skinapp.vision.descriptors.COLOR_MIN_SHARE`), so a colour hovering around 5 %
#: does not flag on noise. New blue-gray, black or white areas are classic signs of change.
NEW_COLOR_MIN_SHARE = 0.10
#: Absolute rise of the asymmetry score (0-1) that flags: a shape symmetric enough to
#: score 0.1 becoming as lopsided as 0.2+; smaller moves are within repeat-photo noise.
ASYMMETRY_RISE = 0.10
#: Any rise of the 1-3 risk grade flags (the grade already has its own thresholds).
GRADE_RISE = 1


@dataclass(frozen=True)
class LesionMeasures:
    """What the rule needs from one visit (None where the lesion was not segmented).

    Attributes
    ----------
    area_mm2, diameter_mm : float or None
        Sizes in millimetres when the photo had a scale.
    area_share : float or None
        Lesion area as a share of the photo's area, in [0, 1].
    diameter_share : float or None
        Maximum diameter as a share of the photo's long side.
    asymmetry : float or None
        Asymmetry score in [0, 1].
    color_shares : mapping of str to float
        Share of the lesion covered by each dermoscopic colour.
    p_malignant : float
        Calibrated probability in [0, 1].
    grade : int
        Risk grade 1-3.
    """

    p_malignant: float
    grade: int
    area_mm2: float | None = None
    diameter_mm: float | None = None
    area_share: float | None = None
    diameter_share: float | None = None
    asymmetry: float | None = None
    color_shares: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def from_record(
        cls,
        *,
        p_malignant: float,
        grade: int,
        descriptors: Mapping[str, Any] | None,
        image_size: tuple[int, int],
    ) -> LesionMeasures:
        """From a stored visit: its result, descriptors dict and ``(width, height)``."""
        if not descriptors:
            return cls(p_malignant=float(p_malignant), grade=int(grade))
        width, height = image_size
        return cls(
            p_malignant=float(p_malignant),
            grade=int(grade),
            area_mm2=descriptors.get("area_mm2"),
            diameter_mm=descriptors.get("diameter_mm"),
            area_share=float(descriptors["area_px"]) / float(width * height),
            diameter_share=float(descriptors["diameter_px"]) / float(max(width, height)),
            asymmetry=descriptors.get("asymmetry"),
            color_shares=dict(descriptors.get("color_shares") or {}),
        )

    @property
    def colors(self) -> tuple[str, ...]:
        """Colours present (share >= ``COLOR_MIN_SHARE``, as in the descriptors)."""
        return tuple(c for c, s in self.color_shares.items() if s >= COLOR_MIN_SHARE)


@dataclass(frozen=True)
class ChangeAssessment:
    """The rule's verdict on one pair of visits.

    Attributes
    ----------
    flagged : bool
        At least one criterion met: show the "review" badge.
    reasons : tuple of str
        One sentence per criterion met.
    not_assessed : tuple of str
        Criteria that could not be checked (no outline in a visit).
    size_unit : str
        ``"mm"`` or ``"share of photo"``: how the sizes were compared.
    area_change, diameter_change : float or None
        Relative change (0.25 = +25 %).
    asymmetry_change, p_change : float or None
        Absolute change.
    grade_change : int
    new_colors : tuple of str
    """

    flagged: bool
    reasons: tuple[str, ...]
    not_assessed: tuple[str, ...]
    size_unit: str
    area_change: float | None
    diameter_change: float | None
    asymmetry_change: float | None
    p_change: float
    grade_change: int
    new_colors: tuple[str, ...]


def _relative(before: float | None, after: float | None) -> float | None:
    if before is None or after is None or before <= 0:
        return None
    return after / before - 1.0


def assess_change(earlier: LesionMeasures, later: LesionMeasures) -> ChangeAssessment:
    """Apply the change rule (module docstring) to two visits of one lesion.

    Examples
    --------
    >>> a = LesionMeasures(p_malignant=0.2, grade=1, area_mm2=10.0, diameter_mm=4.0)
    >>> b = LesionMeasures(p_malignant=0.2, grade=1, area_mm2=13.0, diameter_mm=4.2)
    >>> assess_change(a, b).reasons
    ('Area grew by 30% (rule: more than 20%).',)
    """
    in_mm = None not in (earlier.area_mm2, later.area_mm2, earlier.diameter_mm, later.diameter_mm)
    if in_mm:
        area = _relative(earlier.area_mm2, later.area_mm2)
        diameter = _relative(earlier.diameter_mm, later.diameter_mm)
    else:
        area = _relative(earlier.area_share, later.area_share)
        diameter = _relative(earlier.diameter_share, later.diameter_share)
    asymmetry = (
        None
        if earlier.asymmetry is None or later.asymmetry is None
        else later.asymmetry - earlier.asymmetry
    )
    outlined = earlier.area_share is not None or earlier.area_mm2 is not None
    outlined = outlined and (later.area_share is not None or later.area_mm2 is not None)
    new_colors = (
        tuple(
            c
            for c, share in later.color_shares.items()
            if share >= NEW_COLOR_MIN_SHARE and c not in earlier.colors
        )
        if outlined
        else ()
    )
    grade_change = int(later.grade) - int(earlier.grade)

    reasons: list[str] = []
    if area is not None and area > AREA_GROWTH:
        reasons.append(f"Area grew by {area:.0%} (rule: more than {AREA_GROWTH:.0%}).")
    if diameter is not None and diameter > DIAMETER_GROWTH:
        reasons.append(f"Diameter grew by {diameter:.0%} (rule: more than {DIAMETER_GROWTH:.0%}).")
    if new_colors:
        names = ", ".join(c.replace("_", " ") for c in new_colors)
        reasons.append(
            f"New colour: {names} (covering at least {NEW_COLOR_MIN_SHARE:.0%} of the lesion)."
        )
    if asymmetry is not None and asymmetry > ASYMMETRY_RISE:
        reasons.append(f"Asymmetry rose by {asymmetry:.2f} (rule: more than {ASYMMETRY_RISE:.2f}).")
    if grade_change >= GRADE_RISE:
        reasons.append(f"Risk grade rose from {earlier.grade} to {later.grade}.")

    not_assessed = () if outlined else ("area", "diameter", "colours", "asymmetry")
    return ChangeAssessment(
        flagged=bool(reasons),
        reasons=tuple(reasons),
        not_assessed=not_assessed,
        size_unit="mm" if in_mm else "share of photo",
        area_change=area,
        diameter_change=diameter,
        asymmetry_change=asymmetry,
        p_change=float(later.p_malignant) - float(earlier.p_malignant),
        grade_change=grade_change,
        new_colors=new_colors,
    )


def assess_lesion(history: Sequence[LesionMeasures]) -> ChangeAssessment | None:
    """The rule for a lesion's whole follow-up: the latest visit against the first one
    (slow growth) and against the previous one (recent change); flagged if either is.

    Returns None with fewer than two visits. The returned changes are those against the
    first visit; the reasons of both comparisons are merged.
    """
    if len(history) < 2:
        return None
    baseline = assess_change(history[0], history[-1])
    if len(history) == 2:
        return baseline
    recent = assess_change(history[-2], history[-1])
    reasons = list(baseline.reasons)
    reasons += [f"Since the previous visit: {r}" for r in recent.reasons if r not in reasons]
    return ChangeAssessment(
        flagged=baseline.flagged or recent.flagged,
        reasons=tuple(reasons),
        not_assessed=tuple(dict.fromkeys(baseline.not_assessed + recent.not_assessed)),
        size_unit=baseline.size_unit,
        area_change=baseline.area_change,
        diameter_change=baseline.diameter_change,
        asymmetry_change=baseline.asymmetry_change,
        p_change=baseline.p_change,
        grade_change=baseline.grade_change,
        new_colors=tuple(dict.fromkeys(baseline.new_colors + recent.new_colors)),
    )
