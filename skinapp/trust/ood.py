"""Out-of-distribution score from the classifier's own features.

A photo that is not a dermoscopic image of a skin lesion (a cat, a document, a clinical
close-up, a flat colour) lands far from the training lesions in the network's penultimate
layer. The score is the Mahalanobis distance of the L2-normalised, globally pooled feature
vector to the training set, under a probabilistic-PCA covariance: the top
:data:`N_COMPONENTS` principal directions keep their own variances and the remaining ones
share one (their mean). That is a strong, well-conditioned shrinkage of the full
covariance, and, unlike a distance inside the top components alone, it sees photos whose
features leave the lesion subspace (natural photos mostly do).

Fitted on ``train``; the threshold is the :data:`VAL_QUANTILE` quantile of the ``val``
scores, so about 1.5 % of in-distribution photos are flagged. Saved in ``models/ood.npz``
(float32; about 0.7 MB for 1280 features) by ``python -m skinapp.evaluate --trust``.
The feature dimension is read from the model, so an ensemble whose features are a
concatenation works unchanged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from skinapp.errors import ModelLoadError

logger = logging.getLogger(__name__)

__all__ = [
    "N_COMPONENTS",
    "OOD_FILE",
    "VAL_QUANTILE",
    "OODDetector",
    "fit_ood",
    "load_ood",
    "pool_features",
]

#: File name of the fitted detector in the model folder.
OOD_FILE = "ood.npz"
#: Principal directions with their own variance (the rest share one).
N_COMPONENTS = 128
#: Quantile of the validation scores used as the threshold (flags ~1.5 % of lesions,
#: leaving a margin under the 2 % target for the test split).
VAL_QUANTILE = 0.985


def pool_features(features: np.ndarray) -> np.ndarray:
    """``(N, F)`` pooled features from ``(N, h, w, F)`` feature maps (or ``(N, F)`` as is)."""
    features = np.asarray(features, dtype=np.float32)
    if features.ndim == 4:
        return features.mean(axis=(1, 2))
    if features.ndim == 2:
        return features
    raise ValueError(f"`features` must be (N, h, w, F) or (N, F). Received: {features.shape}")


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


@dataclass(frozen=True)
class OODDetector:
    """A fitted out-of-distribution scorer.

    Attributes
    ----------
    mean : (F,) float32
        Mean of the normalised training features.
    components : (k, F) float32
        Top principal directions (orthonormal rows).
    variances : (k,) float32
        Variance of the training features along each component.
    residual_variance : float
        Mean variance of the remaining directions.
    threshold : float
        Scores above it are out of distribution.
    model_version : str
        Version of the model whose features were used (empty if unknown).
    """

    mean: np.ndarray
    components: np.ndarray
    variances: np.ndarray
    residual_variance: float
    threshold: float
    model_version: str = ""

    @property
    def n_features(self) -> int:
        return int(self.mean.shape[0])

    def score(self, features: np.ndarray) -> np.ndarray:
        """OOD scores, ``(N,)`` float64 >= 0 (about 1 for typical training lesions).

        Parameters
        ----------
        features : (N, h, w, F) or (N, F) ndarray
            The model's ``features`` output (see :meth:`skinapp.serving.Classifier.run`).

        Raises
        ------
        ValueError
            ``F`` differs from the fitted dimension.
        """
        pooled = pool_features(features)
        if pooled.shape[1] != self.n_features:
            raise ValueError(
                f"The OOD detector was fitted on {self.n_features} features. "
                f"Received: {pooled.shape[1]}"
            )
        d = _normalise(pooled) - self.mean
        z = d @ self.components.T.astype(np.float64)
        residual = d - z @ self.components.astype(np.float64)
        d2 = (z**2 / self.variances).sum(axis=1) + (residual**2).sum(axis=1) / float(
            self.residual_variance
        )
        return np.sqrt(d2 / self.n_features)

    def flag(self, scores: np.ndarray) -> np.ndarray:
        """Boolean ``(N,)``: True where a score is above the threshold."""
        return np.asarray(scores) > self.threshold

    def arrays(self) -> dict[str, np.ndarray]:
        """The fitted parameters as the arrays of an ``.npz`` file (without the version)."""
        return {
            "mean": self.mean.astype(np.float32),
            "components": self.components.astype(np.float32),
            "variances": self.variances.astype(np.float32),
            "residual_variance": np.float64(self.residual_variance),
            "threshold": np.float64(self.threshold),
        }

    def save(self, path: str | Path) -> None:
        np.savez_compressed(path, **self.arrays(), model_version=np.str_(self.model_version))


def fit_ood(
    train_features: np.ndarray,
    val_features: np.ndarray,
    *,
    n_components: int = N_COMPONENTS,
    quantile: float = VAL_QUANTILE,
    model_version: str = "",
) -> OODDetector:
    """Fit the detector on training features and set its threshold on validation features.

    Parameters
    ----------
    train_features, val_features : (N, h, w, F) or (N, F) ndarray
        The model's features for in-distribution photos.
    n_components : int
        Principal directions kept with their own variance (clipped to ``min(N, F) - 1``).
    quantile : float in (0, 1)
        Validation quantile used as the threshold.

    Returns
    -------
    OODDetector
    """
    from sklearn.utils.extmath import randomized_svd

    if not 0 < quantile < 1:
        raise ValueError(f"`quantile` must be in (0, 1). Received: `quantile={quantile}`")
    x = _normalise(pool_features(train_features))
    k = max(1, min(n_components, min(x.shape) - 1))
    mean = x.mean(axis=0)
    centred = x - mean
    # the top k directions only (randomised SVD: seconds, not minutes, for 10^4 x 2560);
    # the rest share the remaining variance, which the trace gives without computing them
    _, s, vt = randomized_svd(centred, k, n_iter=7, random_state=0)
    variances = s**2 / (len(x) - 1)
    total = float((centred**2).sum()) / (len(x) - 1)
    residual = (total - float(variances.sum())) / max(min(x.shape) - k, 1)
    detector = OODDetector(
        mean=mean.astype(np.float32),
        components=vt.astype(np.float32),
        variances=np.maximum(variances, 1e-12).astype(np.float32),
        residual_variance=float(max(residual, 1e-12)),
        threshold=float("inf"),
        model_version=model_version,
    )
    threshold = float(np.quantile(detector.score(val_features), quantile))
    logger.info("OOD detector: %d features, k=%d, threshold %.3f", x.shape[1], k, threshold)
    return OODDetector(**{**detector.__dict__, "threshold": threshold})


def read_fitted_file(path: str | Path, what: str, build):
    """``build(npz)`` for a detector file written by ``evaluate --trust``.

    Raises
    ------
    ModelLoadError
        The file is missing or not such a detector; the message names the command that
        makes it.
    """
    try:
        with np.load(path) as data:
            return build(data)
    except (OSError, KeyError, ValueError) as err:
        raise ModelLoadError(
            f"Cannot read the {what} {path}: {err}. Regenerate it with "
            "`python -m skinapp.evaluate --data ../shared/data/derm --model-dir models --trust`."
        ) from err


def load_ood(path: str | Path) -> OODDetector:
    """Read a detector saved by :meth:`OODDetector.save` (ModelLoadError if unreadable)."""
    return read_fitted_file(
        path,
        "OOD detector",
        lambda data: OODDetector(
            mean=data["mean"],
            components=data["components"],
            variances=data["variances"],
            residual_variance=float(data["residual_variance"]),
            threshold=float(data["threshold"]),
            model_version=str(data["model_version"]),
        ),
    )
