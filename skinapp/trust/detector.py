"""The two-tier trust detector: "not a dermoscopic lesion" and "unusual lesion".

Both tiers read the classifier's pooled penultimate features (one pass, nothing extra), and
two scores of them:

- a **lesion check** (:class:`LesionCheck`): a linear classifier (L2-regularised logistic
  regression on standardised, L2-normalised features) of dermoscopic lesion photos
  (``train``, plus copies varied as another camera would take them) against generated
  non-lesion images (:mod:`skinapp.trust.negatives`: bundled photos other than the ones used
  to measure it, screenshots, textures, shapes, faces);
- a **distance** (:class:`~skinapp.trust.ood.OODDetector`): the Mahalanobis distance to the
  training lesions under a probabilistic-PCA covariance.

1. **Not a lesion** when *both* exceed the :data:`NOT_LESION_QUANTILE` quantile of their
   ``val`` lesion scores. Either score alone also grows with harmless differences (another
   clinic's camera, a diagnosis the fit lesions lack). Leave-one-source-out (during
   development, HAM10000 held out): the distance alone at its old 98.5 % threshold called
   10.7 % of the held-out lesions "not a lesion" (63 % of the BCC), and still 0.8 % (8 % of
   the vascular lesions) at the maximum val score; the classifier alone at 99.9 % called
   2.7 % (17 % of the dermatofibromas). The two disagree on those lesions and agree on
   natural photos, screenshots, documents and flat or noise images.
   ``ood_score`` is the smaller of the two scores, each scaled so that 0 is its threshold and
   -1 the val median: above 0 the photo is not a lesion.
2. **Unusual** when the distance alone exceeds its :data:`UNUSUAL_QUANTILE` val quantile (and
   the photo is a lesion): the grade stays, with a caution (:mod:`skinapp.trust.decision`).

Saved together in ``models/ood.npz``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from skinapp.trust.ood import OODDetector, _normalise, fit_ood, pool_features, read_fitted_file

logger = logging.getLogger(__name__)

__all__ = [
    "NOT_LESION_C",
    "NOT_LESION_QUANTILE",
    "UNUSUAL_QUANTILE",
    "Assessment",
    "LesionCheck",
    "TrustDetector",
    "fit_detector",
    "load_detector",
]

#: Quantile of the val lesions' scores (each of the two) used as the not-a-lesion thresholds.
NOT_LESION_QUANTILE = 0.999
#: Inverse L2 strength of the lesion check's logistic regression.
NOT_LESION_C = 0.01
#: Quantile of the val lesions' distances above which a lesion is "unusual".
UNUSUAL_QUANTILE = 0.985


@dataclass(frozen=True)
class LesionCheck:
    """Linear "not a dermoscopic lesion" score of pooled features (higher = less a lesion)."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float

    @property
    def n_features(self) -> int:
        return int(self.mean.shape[0])

    def score(self, features: np.ndarray) -> np.ndarray:
        """``(N,)`` log-odds that each photo is not a dermoscopic lesion photo."""
        pooled = pool_features(features)
        if pooled.shape[1] != self.n_features:
            raise ValueError(
                f"The lesion check was fitted on {self.n_features} features. "
                f"Received: {pooled.shape[1]}"
            )
        z = (_normalise(pooled) - self.mean) / self.scale
        return z @ self.weights.astype(np.float64) + self.bias


def fit_lesion_check(
    lesions: np.ndarray, negatives: np.ndarray, *, c: float = NOT_LESION_C
) -> LesionCheck:
    """Logistic regression of lesion (0) vs non-lesion (1) features, classes balanced."""
    from sklearn.linear_model import LogisticRegression

    x = np.r_[_normalise(pool_features(lesions)), _normalise(pool_features(negatives))]
    y = np.r_[np.zeros(len(lesions)), np.ones(len(negatives))]
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    model = LogisticRegression(C=c, max_iter=1000, class_weight="balanced")
    model.fit((x - mean) / scale, y)
    return LesionCheck(
        mean=mean.astype(np.float32),
        scale=scale.astype(np.float32),
        weights=model.coef_[0].astype(np.float32),
        bias=float(model.intercept_[0]),
    )


@dataclass(frozen=True)
class Assessment:
    """Both tiers' result for one photo (the fields a :class:`~skinapp.serving.Prediction`
    carries)."""

    ood_score: float
    ood: bool
    unusual_score: float
    unusual: bool


@dataclass(frozen=True)
class TrustDetector:
    """Both tiers, fitted for one model version.

    Attributes
    ----------
    lesion_check, distance
        The two scores (``distance.threshold`` is the *unusual* threshold).
    check_threshold, check_median : float
        Val quantile and median of the lesion check's scores.
    distance_threshold, distance_median : float
        Val quantile (not a lesion) and median of the distances.
    """

    lesion_check: LesionCheck
    distance: OODDetector
    check_threshold: float
    check_median: float
    distance_threshold: float
    distance_median: float
    model_version: str = ""

    def scores(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(ood_score, distance)``, each ``(N,)``: not a lesion where ``ood_score > 0``."""
        check = self.lesion_check.score(features)
        distance = self.distance.score(features)
        scaled_check = (check - self.check_threshold) / max(
            self.check_threshold - self.check_median, 1e-9
        )
        scaled_distance = (distance - self.distance_threshold) / max(
            self.distance_threshold - self.distance_median, 1e-9
        )
        return np.minimum(scaled_check, scaled_distance), distance

    def assess(self, features: np.ndarray) -> list[Assessment]:
        """One :class:`Assessment` per row of ``features`` ((N, F) or (N, h, w, F))."""
        ood, distance = self.scores(features)
        return [
            Assessment(
                float(o), bool(o > 0), float(d), bool(o <= 0 and d > self.distance.threshold)
            )
            for o, d in zip(ood, distance, strict=True)
        ]

    def save(self, path: str | Path) -> None:
        c, d = self.lesion_check, self.distance
        np.savez_compressed(
            path,
            kind=np.str_("two-tier"),
            lesion_mean=c.mean.astype(np.float32),
            lesion_scale=c.scale.astype(np.float32),
            lesion_weights=c.weights.astype(np.float32),
            lesion_bias=np.float64(c.bias),
            check_threshold=np.float64(self.check_threshold),
            check_median=np.float64(self.check_median),
            distance_threshold=np.float64(self.distance_threshold),
            distance_median=np.float64(self.distance_median),
            **d.arrays(),
            model_version=np.str_(self.model_version),
        )


def fit_detector(
    train_lesions: np.ndarray,
    val_lesions: np.ndarray,
    negatives: np.ndarray,
    *,
    varied_lesions: np.ndarray | None = None,
    model_version: str = "",
    not_lesion_quantile: float = NOT_LESION_QUANTILE,
    unusual_quantile: float = UNUSUAL_QUANTILE,
    c: float = NOT_LESION_C,
) -> TrustDetector:
    """Fit both tiers on pooled features.

    Parameters
    ----------
    train_lesions, val_lesions : (N, F) ndarray
        Lesion photos: the fit, and the thresholds.
    negatives : (M, F) ndarray
        Generated non-lesion images (:func:`skinapp.trust.negatives.generated_negatives`).
    varied_lesions : (K, F) ndarray, optional
        Extra lesion photos for the lesion check (:func:`~skinapp.trust.negatives.varied_lesions`
        of training photos); not used by the distance.
    """
    if not 0 < not_lesion_quantile <= 1:
        raise ValueError(
            f"`not_lesion_quantile` must be in (0, 1]. Received: {not_lesion_quantile}"
        )
    positives = pool_features(train_lesions)
    if varied_lesions is not None and len(varied_lesions):
        positives = np.r_[positives, pool_features(varied_lesions)]
    check = fit_lesion_check(positives, negatives, c=c)
    distance = fit_ood(
        train_lesions, val_lesions, quantile=unusual_quantile, model_version=model_version
    )
    val_check, val_distance = check.score(val_lesions), distance.score(val_lesions)
    detector = TrustDetector(
        lesion_check=check,
        distance=distance,
        check_threshold=float(np.quantile(val_check, not_lesion_quantile)),
        check_median=float(np.median(val_check)),
        distance_threshold=float(np.quantile(val_distance, not_lesion_quantile)),
        distance_median=float(np.median(val_distance)),
        model_version=model_version,
    )
    logger.info(
        "Trust detector: lesion-check threshold %.3f, distance thresholds %.3f (not a lesion) "
        "and %.3f (unusual)",
        detector.check_threshold,
        detector.distance_threshold,
        distance.threshold,
    )
    return detector


def load_detector(path: str | Path) -> TrustDetector:
    """Read a detector saved by :meth:`TrustDetector.save` (ModelLoadError if unreadable)."""

    def build(data) -> TrustDetector:
        version = str(data["model_version"])
        return TrustDetector(
            lesion_check=LesionCheck(
                mean=data["lesion_mean"],
                scale=data["lesion_scale"],
                weights=data["lesion_weights"],
                bias=float(data["lesion_bias"]),
            ),
            distance=OODDetector(
                mean=data["mean"],
                components=data["components"],
                variances=data["variances"],
                residual_variance=float(data["residual_variance"]),
                threshold=float(data["threshold"]),
                model_version=version,
            ),
            check_threshold=float(data["check_threshold"]),
            check_median=float(data["check_median"]),
            distance_threshold=float(data["distance_threshold"]),
            distance_median=float(data["distance_median"]),
            model_version=version,
        )

    return read_fitted_file(path, "trust detector", build)
