"""Risk grade 1-3 from the calibrated probability of malignancy (not a cancer stage).

Two thresholds ``t1 <= t2``, chosen on the validation split, cut the probability ``p``:

- grade 1 (``p < t1``): low suspicion. ``t1`` is the largest threshold that keeps at least
  ``min_sensitivity`` (default 95 %) of malignant validation lesions at grade 2 or 3;
- grade 3 (``p >= t2``): high suspicion. ``t2`` is the smallest threshold whose specificity
  (benign lesions with ``p < t2``) is at least ``min_specificity`` (default 90 %);
- grade 2 in between.

A third threshold, ``operating``, makes the binary benign/malignant call (``p >= operating``
is "malignant"); it maximises Youden's J = sensitivity + specificity - 1 (equivalently,
balanced accuracy) on validation, then is clipped into ``[t1, t2]`` so that the call never
contradicts the grade.

Every threshold is one of the observed validation probabilities (the ``roc_curve``
convention), so it reproduces its validation sensitivity/specificity exactly.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from skinapp.model.labels import as_binary_arrays, require_both_classes

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

__all__ = [
    "GRADES",
    "GRADE_DISCLAIMER",
    "GRADE_TEXT",
    "THRESHOLD_RULES",
    "GradeThresholds",
    "assign_grade",
    "choose_thresholds",
    "grade_table",
    "sensitivity_at_t1",
    "specificity_at_t2",
]

#: The grades, in increasing order of suspicion.
GRADES: tuple[int, int, int] = (1, 2, 3)

#: Short meaning of each grade, for the UI and the report.
GRADE_TEXT: dict[int, str] = {
    1: "Low suspicion: routine monitoring; malignant lesions are rarely in this grade.",
    2: "Intermediate: consider dermatologist review or short-term follow-up.",
    3: "High suspicion: refer to a dermatologist.",
}

#: Shown wherever a grade is shown.
GRADE_DISCLAIMER = (
    "The grade (1-3) is a risk grade derived from the model's calibrated probability of "
    "malignancy; it is not a cancer stage (staging requires histopathology and clinical "
    "work-up). This is decision support for a clinician, not a diagnosis."
)

#: How the thresholds are chosen (for metrics.json and the model card).
THRESHOLD_RULES: dict[str, str] = {
    "t1": (
        "largest observed validation probability t such that at least min_sensitivity of "
        "malignant validation lesions have p >= t (grade 1 = p < t1)"
    ),
    "t2": (
        "smallest observed validation probability t such that at least min_specificity of "
        "benign validation lesions have p < t (grade 3 = p >= t2); raised to t1 if below it"
    ),
    "operating": (
        "observed validation probability maximising Youden's J (sensitivity + specificity - 1, "
        "i.e. balanced accuracy; highest such threshold on ties), clipped into [t1, t2]; "
        "malignant when p >= operating"
    ),
}

_EPS = 1e-9  # guards ceil() against 0.95 * 20 = 18.999999999999996


@dataclass(frozen=True)
class GradeThresholds:
    """Thresholds on the calibrated probability of malignancy.

    Attributes
    ----------
    t1 : float
        Grade 1 below, grade 2 or 3 at or above; ``0 <= t1 <= t2``.
    t2 : float
        Grade 3 at or above; ``t2 <= 1``.
    operating : float
        Binary call threshold in [0, 1]: malignant when ``p >= operating``.
    """

    t1: float
    t2: float
    operating: float

    def __post_init__(self) -> None:
        values = (self.t1, self.t2, self.operating)
        if not all(math.isfinite(v) for v in values):
            raise ValueError(
                f"Thresholds must be finite. Received: `t1={self.t1}`, `t2={self.t2}`, "
                f"`operating={self.operating}`"
            )
        if not 0.0 <= self.t1 <= self.t2 <= 1.0:
            raise ValueError(
                f"Thresholds must satisfy 0 <= t1 <= t2 <= 1. Received: `t1={self.t1}`, "
                f"`t2={self.t2}`"
            )
        if not 0.0 <= self.operating <= 1.0:
            raise ValueError(
                f"`operating` must be in [0, 1]. Received: `operating={self.operating}`"
            )

    def to_dict(self) -> dict[str, float]:
        """Return a JSON-serialisable dict (inverse of :meth:`from_dict`)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GradeThresholds:
        """Build from :meth:`to_dict` output; missing or unknown keys raise ``ValueError``."""
        keys = {"t1", "t2", "operating"}
        if set(data) != keys:
            raise ValueError(
                f"Grade thresholds need exactly the keys {sorted(keys)}. Received: `{sorted(data)}`"
            )
        return cls(**{k: float(data[k]) for k in keys})


# === Choosing thresholds ===


def _check_target(name: str, value: float) -> None:
    if not 0.0 < value <= 1.0:
        raise ValueError(f"`{name}` must be in (0, 1]. Received: `{name}={value}`")


def _t1_for_sensitivity(p_pos: np.ndarray, min_sensitivity: float) -> float:
    """Largest t with ``mean(p_pos >= t) >= min_sensitivity``: the k-th largest ``p_pos``."""
    k = max(1, math.ceil(min_sensitivity * p_pos.size - _EPS))
    return float(np.sort(p_pos)[::-1][k - 1])


def _t2_for_specificity(p_neg: np.ndarray, p_all: np.ndarray, min_specificity: float) -> float:
    """Smallest observed p with ``mean(p_neg < t) >= min_specificity``."""
    m = max(1, math.ceil(min_specificity * p_neg.size - _EPS))
    q = np.sort(p_neg)[m - 1]  # at least m benign below t  <=>  t > q
    above = p_all[p_all > q]
    if above.size:
        return float(above.min())
    warnings.warn(
        f"No validation probability lies above {q:.4g}; t2 set to 1.0.",
        stacklevel=3,
    )
    return 1.0


def _youden_threshold(y: np.ndarray, p: np.ndarray) -> float:
    """Observed p maximising ``tpr - fpr`` (highest threshold among ties)."""
    from sklearn.metrics import roc_curve  # fits only: the app just applies the thresholds

    fpr, tpr, thresholds = roc_curve(y, p, drop_intermediate=False)
    finite = np.isfinite(thresholds)
    j = (tpr - fpr)[finite]
    return float(thresholds[finite][int(np.argmax(j))])


def choose_thresholds(
    y_val: Any,
    p_val: Any,
    *,
    min_sensitivity: float = 0.95,
    min_specificity: float = 0.90,
) -> GradeThresholds:
    """Choose the grade thresholds and the binary operating threshold on validation data.

    See the module docstring and :data:`THRESHOLD_RULES` for the rules.

    Parameters
    ----------
    y_val : (N,) array_like of {0, 1}
        Validation labels, both classes present.
    p_val : (N,) array_like of float in [0, 1]
        Calibrated validation probabilities of malignancy.
    min_sensitivity : float in (0, 1]
        Share of malignant lesions that must be graded 2 or 3.
    min_specificity : float in (0, 1]
        Share of benign lesions that must be graded 1 or 2.

    Returns
    -------
    GradeThresholds

    Raises
    ------
    ValueError
        If the data has a single class, or on invalid inputs or targets.

    Warns
    -----
    UserWarning
        If ``t2 < t1`` (the classes are separated well enough that both targets are met
        with room to spare; ``t2`` is raised to ``t1``, which keeps the sensitivity rule
        exact, only increases specificity, and leaves grade 2 empty), or if ``operating``
        had to be clipped into ``[t1, t2]``.
    """
    _check_target("min_sensitivity", min_sensitivity)
    _check_target("min_specificity", min_specificity)
    y, p = as_binary_arrays(y_val, p_val, name="p_val")
    require_both_classes(y, "Choosing grade thresholds")
    t1 = _t1_for_sensitivity(p[y == 1], min_sensitivity)
    t2 = _t2_for_specificity(p[y == 0], p, min_specificity)
    if t2 < t1:
        warnings.warn(
            f"The specificity threshold t2={t2:.4g} is below the sensitivity threshold "
            f"t1={t1:.4g}; t2 set to t1 (grade 2 is empty).",
            stacklevel=2,
        )
        t2 = t1
    youden = _youden_threshold(y, p)
    operating = min(max(youden, t1), t2)
    if operating != youden:
        warnings.warn(
            f"Youden threshold {youden:.4g} lies outside [t1, t2]=[{t1:.4g}, {t2:.4g}]; "
            f"operating threshold clipped to {operating:.4g}.",
            stacklevel=2,
        )
    logger.info("Grade thresholds t1=%.4f t2=%.4f operating=%.4f", t1, t2, operating)
    return GradeThresholds(t1=t1, t2=t2, operating=operating)


# === Using thresholds ===


def assign_grade(p: Any, thresholds: GradeThresholds) -> int | np.ndarray:
    """Grade probabilities: 1 if ``p < t1``, 3 if ``p >= t2``, else 2.

    Non-decreasing in ``p`` for any valid thresholds.

    Parameters
    ----------
    p : float or array_like of float in [0, 1], any shape
    thresholds : GradeThresholds

    Returns
    -------
    int, or ndarray of int64 with the shape of ``p``

    Raises
    ------
    ValueError
        If any ``p`` is NaN or outside [0, 1].

    Examples
    --------
    >>> th = GradeThresholds(t1=0.1, t2=0.6, operating=0.3)
    >>> assign_grade(0.05, th), assign_grade([0.1, 0.7], th).tolist()
    (1, [2, 3])
    """
    arr = np.asarray(p, dtype=np.float64)
    bad = ~(np.isfinite(arr) & (arr >= 0.0) & (arr <= 1.0))
    if bad.any():
        raise ValueError(
            f"Probabilities must lie in [0, 1]. Received: {int(bad.sum())} invalid value(s), "
            f"e.g. `p={arr[bad].flat[0]}`"
        )
    grades = 1 + (arr >= thresholds.t1).astype(np.int64) + (arr >= thresholds.t2)
    return int(grades) if grades.ndim == 0 else grades


def sensitivity_at_t1(y: Any, p: Any, t1: float) -> float:
    """Share of malignant lesions with ``p >= t1`` (not graded 1), in [0, 1].

    Raises ``ValueError`` if ``y`` holds no malignant lesion.
    """
    y_arr, s = as_binary_arrays(y, p)
    if not y_arr.any():
        raise ValueError("Sensitivity needs malignant lesions. Received: `n_malignant=0`")
    return float(np.mean(s[y_arr == 1] >= t1))


def specificity_at_t2(y: Any, p: Any, t2: float) -> float:
    """Share of benign lesions with ``p < t2`` (not graded 3), in [0, 1].

    Raises ``ValueError`` if ``y`` holds no benign lesion.
    """
    y_arr, s = as_binary_arrays(y, p)
    if y_arr.all():
        raise ValueError("Specificity needs benign lesions. Received: `n_benign=0`")
    return float(np.mean(s[y_arr == 0] < t2))


def grade_table(y: Any, p: Any, thresholds: GradeThresholds) -> pd.DataFrame:
    """Number of lesions and malignancy rate per grade.

    Parameters
    ----------
    y : (N,) array_like of {0, 1}
    p : (N,) array_like of float in [0, 1]
    thresholds : GradeThresholds

    Returns
    -------
    pandas.DataFrame
        Three rows (grades 1, 2, 3) with ``grade``, ``n``, ``share`` (n / N),
        ``n_malignant``, ``malignancy_rate`` (n_malignant / n; NaN for an empty grade) and
        ``share_of_malignant`` (n_malignant / all malignant; NaN if there are none).
        ``n`` sums to N.
    """
    y_arr, s = as_binary_arrays(y, p)
    grades = assign_grade(s, thresholds)
    n = np.array([(grades == g).sum() for g in GRADES])
    n_mal = np.array([y_arr[grades == g].sum() for g in GRADES])
    total_mal = n_mal.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(n > 0, n_mal / np.maximum(n, 1), np.nan)
        share_mal = n_mal / total_mal if total_mal else np.full(3, np.nan)
    import pandas as pd  # reports only: the app just assigns grades

    return pd.DataFrame(
        {
            "grade": list(GRADES),
            "n": n,
            "share": n / y_arr.size,
            "n_malignant": n_mal,
            "malignancy_rate": rate,
            "share_of_malignant": share_mal,
        }
    )
