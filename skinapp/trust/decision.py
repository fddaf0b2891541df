"""The one decision "not a lesion" / "unusual lesion" / ok, read by every page, report and CLI.

:func:`decide` turns one :class:`~skinapp.serving.Prediction` into a :class:`TrustDecision`:

- **not a lesion** (``prediction.ood``): the photo is not a dermoscopic image of a skin lesion
  (a natural photo, a screenshot, a document, a flat or noise image, a photo destroyed by
  blur or exposure). One message is shown, first and alone: no grade, no probability, no
  differential, no ABCD table, no retake advice, no save, no report. ``predict`` writes
  ``ood=1``; Batch triage lists the photo apart, never ranked among lesions.
- **unusual** (``prediction.unusual``): a real lesion, but unlike the training photos (far
  from them in the model's feature space). The grade and the differential stay, with a
  visible caution, and the probability interval is widened by :data:`UNUSUAL_WIDEN_LOGIT`
  on the log-odds scale on each side. ``predict`` writes ``unusual=1``.
- **ok**: neither.

Without a fitted detector (no ``models/ood.npz``) both flags are None and the answer is ok.
Pure: no Streamlit, nothing written.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from skinapp.serving import Prediction

__all__ = [
    "NOT_A_LESION_MESSAGE",
    "UNUSUAL_MESSAGE",
    "UNUSUAL_WIDEN_LOGIT",
    "TrustDecision",
    "Verdict",
    "decide",
]

#: Log-odds added on each side of an unusual lesion's probability interval (e ≈ 2.7× in odds).
UNUSUAL_WIDEN_LOGIT = 1.0

#: Shown alone, instead of everything else, for a photo that is not a dermoscopic lesion.
NOT_A_LESION_MESSAGE = (
    "**This does not look like a dermoscopic image of a skin lesion.** The model was trained "
    "only on dermoscopic photos of single skin lesions, so it gives no result, risk grade or "
    "lesion measurements for this image. Upload a dermoscopic photo of one lesion."
)
#: The caution beside the grade of a lesion unlike the training photos.
UNUSUAL_MESSAGE = (
    "**Unusual lesion: unlike the training photos.** This looks like a dermoscopic image of a "
    "lesion, but an unusual one for the model (another camera, clinic or lesion type than it "
    "was trained on). The grade is shown with a wider uncertainty range; rely on it less and "
    "on clinical judgement more."
)


class Verdict(StrEnum):
    """What the app may say about a photo."""

    OK = "ok"
    UNUSUAL = "unusual"
    NOT_A_LESION = "not_a_lesion"


@dataclass(frozen=True)
class TrustDecision:
    """The decision for one photo.

    Attributes
    ----------
    verdict : Verdict
    message : str
        What to show the user (empty when ok).
    p_low, p_high : float or None
        The probability interval to show (the TTA range, widened for an unusual lesion;
        for an unusual single-view answer, the probability widened); None when there is
        none or for a photo that is not a lesion.
    """

    verdict: Verdict
    message: str = ""
    p_low: float | None = None
    p_high: float | None = None

    @property
    def not_a_lesion(self) -> bool:
        return self.verdict is Verdict.NOT_A_LESION

    @property
    def unusual(self) -> bool:
        return self.verdict is Verdict.UNUSUAL

    @property
    def shows_result(self) -> bool:
        """Grade, probability, differential, ABCD, heat map, retake advice: all or nothing."""
        return not self.not_a_lesion

    @property
    def can_save(self) -> bool:
        """May be saved to the case history."""
        return not self.not_a_lesion

    @property
    def can_report(self) -> bool:
        """May get a downloadable report."""
        return not self.not_a_lesion


def _logit(p: float) -> float:
    p = min(max(float(p), 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def widen(p_low: float, p_high: float, logit: float = UNUSUAL_WIDEN_LOGIT) -> tuple[float, float]:
    """``(low, high)`` moved ``logit`` outwards on the log-odds scale.

    Examples
    --------
    >>> tuple(round(v, 3) for v in widen(0.5, 0.5))
    (0.269, 0.731)
    """
    return _sigmoid(_logit(p_low) - logit), _sigmoid(_logit(p_high) + logit)


def decide(prediction: Prediction) -> TrustDecision:
    """The decision for one prediction (see the module docstring)."""
    if prediction.ood:
        return TrustDecision(Verdict.NOT_A_LESION, NOT_A_LESION_MESSAGE)
    low, high = prediction.p_low, prediction.p_high
    if prediction.unusual:
        if low is None or high is None:
            low = high = prediction.p_malignant
        low, high = widen(low, high)
        return TrustDecision(Verdict.UNUSUAL, UNUSUAL_MESSAGE, low, high)
    return TrustDecision(Verdict.OK, "", low, high)
