"""One verdict: the text every page, the report and the CLI show for one answer.

The risk grade is the answer; the differential diagnosis stands beside it. No benign or
malignant word is shown about the lesion (a "Benign" beside "risk grade 2" told two stories):
the grade's own wording says how worried to be, the differential says what the lesion most
likely is, and both read the same calibrated probability of malignancy (the malignant classes
of the differential sum to it, :mod:`skinapp.model.differential`). Every figure names the
answer it describes: the app's 8-view TTA mean or a single view.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from skinapp.model.differential import plain_name
from skinapp.model.grading import GRADE_TEXT

__all__ = [
    "GRADE_NAMES",
    "DifferentialLine",
    "Verdict",
    "answer_label",
    "verdict",
]

#: Short name of each grade (the headline).
GRADE_NAMES: dict[int, str] = {1: "low suspicion", 2: "intermediate", 3: "high suspicion"}


def answer_label(n_views: int) -> str:
    """Which answer a figure describes: ``"8-view TTA"`` or ``"single view"``.

    Examples
    --------
    >>> answer_label(8), answer_label(1)
    ('8-view TTA', 'single view')
    """
    return f"{int(n_views)}-view TTA" if int(n_views) > 1 else "single view"


@dataclass(frozen=True)
class DifferentialLine:
    """One diagnosis of the differential: code, plain name, calibrated probability."""

    code: str
    name: str
    probability: float
    malignant: bool

    def text(self) -> str:
        """``"melanocytic nevus (mole) 71%"``."""
        return f"{self.name} {self.probability:.0%}"


@dataclass(frozen=True)
class Verdict:
    """What is shown about one answer (see the module docstring).

    Attributes
    ----------
    grade : int
        Risk grade 1–3 (not a cancer stage): the answer.
    headline : str
        ``"Risk grade 2 of 3 · intermediate"``.
    advice : str
        The grade's meaning (:data:`skinapp.model.grading.GRADE_TEXT`).
    p_malignant : float
        Calibrated probability of malignancy (the sum of the malignant diagnoses).
    answer : str
        :func:`answer_label` of the answer.
    differential : tuple of DifferentialLine
        The likeliest diagnoses, most likely first (plus the top call if it is not among
        them); empty without a differential map.
    top : str or None
        The top call's code (:mod:`skinapp.model.differential`), None without a differential.
    """

    grade: int
    headline: str
    advice: str
    p_malignant: float
    answer: str
    differential: tuple[DifferentialLine, ...]
    top: str | None = None

    @property
    def top_name(self) -> str | None:
        """The plain name of the top call, or None without a differential."""
        return None if self.top is None else plain_name(self.top)

    def differential_text(self) -> str:
        """The differential on one line, the top call marked:
        ``"melanocytic nevus (mole) 71% (top call) · … · melanoma 9%"``."""
        return " · ".join(
            line.text() + (" (top call)" if line.code == self.top else "")
            for line in self.differential
        )


def verdict(prediction: Any, k: int = 3) -> Verdict:
    """The :class:`Verdict` of a :class:`~skinapp.serving.Prediction` (its top ``k`` diagnoses).

    Parameters
    ----------
    prediction : Prediction
        Any object with ``grade``, ``p_malignant``, ``n_views`` and ``differential``.
    k : int
        How many diagnoses of the differential to keep.
    """
    grade = int(prediction.grade)
    diff = getattr(prediction, "differential", None)
    lines: tuple[DifferentialLine, ...] = ()
    if diff is not None:
        malignant = set(getattr(diff, "malignant", ()) or ())
        lines = tuple(
            DifferentialLine(code, plain_name(code), float(p), code in malignant)
            for code, p in diff.ranked(k)
        )
    return Verdict(
        grade=grade,
        headline=f"Risk grade {grade} of 3 · {GRADE_NAMES[grade]}",
        advice=GRADE_TEXT[grade],
        p_malignant=float(prediction.p_malignant),
        answer=answer_label(getattr(prediction, "n_views", 1)),
        differential=lines,
        top=None if diff is None else diff.top,
    )
