"""Test-time augmentation: the eight flips and quarter turns of the model input.

Dermoscopic lesions have no canonical orientation and the model was trained with all eight
symmetries of the square (:func:`skinapp.model.augment.dihedral`), so each view is an
equally valid look at the same lesion. The mean of their log-odds is the TTA answer; the
range of their probabilities shows how stable the answer is. The views go through the
network as one batch (one ``run`` call).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from skinapp.model.augment import dihedral
from skinapp.model.calibration import Calibration
from skinapp.model.grading import GradeThresholds
from skinapp.trust.ood import pool_features

logger = logging.getLogger(__name__)

__all__ = [
    "N_VIEWS",
    "TRUST_FILE",
    "TTASpread",
    "load_tta_calibration",
    "run_views",
    "spread",
    "tta_views",
]

#: Number of views: 4 quarter turns, each with and without a mirror flip.
N_VIEWS = 8


def tta_views(image: np.ndarray) -> np.ndarray:
    """The eight dihedral views of a square model input.

    Parameters
    ----------
    image : (S, S, 3) ndarray
        A prepared model input (:func:`skinapp.model.preprocessing.prepare_model_input`).

    Returns
    -------
    (8, S, S, 3) ndarray
        Same dtype; view 0 is the image itself.
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[0] != image.shape[1]:
        raise ValueError(f"`image` must be a square (S, S, C) array. Received: {image.shape}")
    return np.stack([dihedral(image, k) for k in range(N_VIEWS)])


def run_views(classifier, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every view of each prepared input through ``classifier.run`` in one batch.

    Returns
    -------
    log_odds : (N, 8) ndarray
        Uncalibrated malignant log-odds of each view (column 0: the input as it is).
    features : (N, F) ndarray
        Pooled features of view 0.
    """
    logits, features = classifier.run(np.concatenate([tta_views(x) for x in inputs]))
    odds = classifier.log_odds(logits).reshape(len(inputs), N_VIEWS)
    return odds, pool_features(features)[::N_VIEWS]


@dataclass(frozen=True)
class TTASpread:
    """How much the calibrated probability moves over the views.

    Attributes
    ----------
    low, high : float
        Lowest and highest per-view probability, in [0, 1].
    unstable : bool
        The interval crosses a grade threshold (the views disagree on the grade).
    n_views : int
    """

    low: float
    high: float
    unstable: bool
    n_views: int


def spread(p_views: np.ndarray, grade_thresholds: tuple[float, ...]) -> TTASpread:
    """Interval of per-view probabilities and whether it straddles a grade threshold.

    Parameters
    ----------
    p_views : (V,) ndarray of float
        Calibrated probability of each view.
    grade_thresholds : tuple of float
        The grade boundaries (``t1``, ``t2``).

    Examples
    --------
    >>> s = spread(np.array([0.05, 0.09]), (0.07, 0.35))
    >>> (s.low, s.high, s.unstable)
    (0.05, 0.09, True)
    """
    p = np.asarray(p_views, dtype=np.float64)
    low, high = float(p.min()), float(p.max())
    unstable = any(low < t <= high for t in grade_thresholds)
    return TTASpread(low=low, high=high, unstable=unstable, n_views=int(p.size))


#: The file ``python -m skinapp.evaluate --trust`` writes; its ``"tta"`` block holds the
#: calibration and grade thresholds refitted on the validation TTA outputs.
TRUST_FILE = "trust.json"


def load_tta_calibration(
    model_dir: str | Path, model_version: str
) -> tuple[Calibration, GradeThresholds] | None:
    """The TTA calibration and grade thresholds saved for this model, or None.

    The single-view calibration does not fit TTA-averaged log-odds (averaging shrinks them),
    so TTA answers are only calibrated with a map refitted on validation TTA outputs. None
    when ``trust.json`` is absent, has no ``tta`` block, was made for another model version,
    or measured no gain from TTA (``used_in_app`` false): the caller then keeps the
    validated single-view answer.

    Returns
    -------
    (Calibration, GradeThresholds) or None
    """
    path = Path(model_dir) / TRUST_FILE
    if not path.is_file():
        return None
    try:
        block = json.loads(path.read_text()).get("tta") or {}
        if not block.get("used_in_app", True):
            logger.info("TTA did not improve the model on test (%s): single-view answers", path)
            return None
        if block.get("model_version") != model_version:
            logger.warning(
                "%s was made for model %s, not %s: TTA calibration ignored; rerun "
                "`python -m skinapp.evaluate --trust`.",
                path,
                block.get("model_version"),
                model_version,
            )
            return None
        return (
            Calibration.from_dict(block["calibration"]),
            GradeThresholds.from_dict(block["thresholds"]),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        logger.warning("%s has no valid TTA calibration", path)
        return None
