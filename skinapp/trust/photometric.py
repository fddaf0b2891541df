"""Learned exposure and colour-cast checks: is this photo darkened, washed out or off-colour?

Dermoscopy varies so much in brightness and tint that one threshold on the median
brightness or the mean hue cannot tell a darkened photo from a naturally dark one without
many false alarms (gamma 2 darkening was caught in about 2 of 3 photos that way). What
gives a degraded photo away is the combination: darkening by a tone curve also deepens the
colours and crushes the shadows, a blue cast shifts the skin *and* the lesion, and the
classifier's own features move in a consistent direction. So each condition is a logistic
regression over

* :func:`photo_stats`: :data:`N_STATS` brightness, channel, saturation and CIELAB statistics
  of the photo at the model's scale, overall and in its brightest half (skin) and darkest
  quarter (lesion);
* the classifier's L2-normalised pooled penultimate features of the unrotated view (the
  same vector the OOD score uses, so it costs nothing extra).

Fitted by ``python -m skinapp.evaluate --trust`` on the ``val`` split: its original photos
against copies degraded as in :data:`TRAINING_DEGRADATIONS` (the levels at which the
classifier's validation AUC drops by more than 0.03), each also after a JPEG round trip: a
tone curve applied to decoded pixels leaves histogram gaps that a real photo, compressed
after the error, does not have, and the regression must not rely on them. Each threshold is the
``1 - FALSE_ALARM_RATE`` quantile of *out-of-fold* scores of the original photos
(lesion-grouped folds), so it is not set on photos the regression was fitted on. Saved as
``models/quality.npz`` with the model version it belongs to; without it (or for another
model) :mod:`skinapp.trust.quality` falls back to its fixed rules.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from skinapp.trust import degrade
from skinapp.trust.ood import read_fitted_file
from skinapp.trust.photo import at_model_scale, color_cast

logger = logging.getLogger(__name__)

__all__ = [
    "FALSE_ALARM_RATE",
    "JPEG_QUALITY",
    "N_STATS",
    "PHOTOMETRIC_FILE",
    "REGULARISATION",
    "TRAINING_DEGRADATIONS",
    "PhotometricDetector",
    "design_matrix",
    "fit_photometric",
    "load_photometric",
    "photo_stats",
]

#: File name of the fitted detector in the model folder.
PHOTOMETRIC_FILE = "quality.npz"
#: Synthetic degradations each condition learns to recognise, with their strength: the
#: levels at which the classifier's validation ROC AUC drops by more than 0.03 (gamma 2:
#: 0.036; gamma 0.33: 0.048; blue and green gains of 20 %: 0.044 and 0.041), plus the
#: stronger gamma 3 so that very dark photos score higher still.
TRAINING_DEGRADATIONS: dict[str, tuple[tuple[str, Callable, float], ...]] = {
    "dark": (("gamma", degrade.gamma, 2.0), ("gamma", degrade.gamma, 3.0)),
    "bright": (("gamma", degrade.gamma, 0.33),),
    "color_cast": (
        ("blue cast", lambda im, s: degrade.color_cast(im, s, "blue"), 0.2),
        ("green cast", lambda im, s: degrade.color_cast(im, s, "green"), 0.2),
    ),
}
#: Share of good (original validation) photos each condition may flag. The exposure check
#: is the union of "dark", "bright" and the clipped-highlights rule, so their sum stays
#: under the 5 % false-alarm budget with a margin for a new split.
FALSE_ALARM_RATE = {"dark": 0.02, "bright": 0.015, "color_cast": 0.03}
#: JPEG quality of the round trip every training photo also gets (see :func:`degrade.jpeg`).
JPEG_QUALITY = 90
#: Inverse L2 strength of the logistic regressions (strong: 2,600 inputs, ~3,000 photos).
REGULARISATION = 0.05

_LUMA_PERCENTILES = (1, 5, 10, 25, 50, 75, 90, 95, 99)
_CHANNEL_PERCENTILES = (5, 25, 50, 75, 95)
_SATURATION_PERCENTILES = (10, 25, 50, 75, 90)
#: Number of values :func:`photo_stats` returns.
N_STATS = len(_LUMA_PERCENTILES) + 4 + 3 * len(_CHANNEL_PERCENTILES) + 5 + 4 + 2 * 5 + 1


def photo_stats(image: np.ndarray) -> np.ndarray:
    """Photometric statistics of a photo, at the model's scale.

    Parameters
    ----------
    image : (H, W, 3) ndarray of uint8
        RGB photo of any size.

    Returns
    -------
    (N_STATS,) ndarray of float32
        Luminance percentiles, mean, SD and shares below 20 / above 235; per-channel
        percentiles; HSV saturation percentiles; mean CIELAB a*, b*, chroma and hue (degrees)
        of the lit pixels; mean L*a*b* and mean saturation/value of the darkest quarter and
        of the brightest half of the pixels; correlation of saturation with luminance.
    """
    small = at_model_scale(image)
    rgb = small.reshape(-1, 3)
    gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).reshape(-1)
    luma = gray.astype(np.float32)
    lab = cv2.cvtColor(small, cv2.COLOR_RGB2LAB).reshape(-1, 3).astype(np.float32)
    hsv8 = cv2.cvtColor(small, cv2.COLOR_RGB2HSV).reshape(-1, 3)
    hsv = hsv8.astype(np.float32)
    # Every value is an 8-bit level: a stable sort of uint8 levels is a radix sort (about 10x
    # faster than sorting floats, same order), and a percentile of sorted values is cheap.
    order = np.argsort(gray, kind="stable")
    parts = [
        np.percentile(luma[order], _LUMA_PERCENTILES),
        [luma.mean(), luma.std(), (luma < 20).mean(), (luma > 235).mean()],
        *(np.percentile(np.sort(rgb[:, c], kind="stable"), _CHANNEL_PERCENTILES) for c in range(3)),
        np.percentile(
            np.sort(hsv8[:, 1], kind="stable").astype(np.float32), _SATURATION_PERCENTILES
        ),
    ]
    hue, chroma = color_cast(small)  # of the lit pixels, as the rule-based check sees it
    a, b = chroma * np.cos(np.radians(hue)), chroma * np.sin(np.radians(hue))
    parts.append([a, b, chroma, hue])
    for chosen in (order[: len(order) // 4], order[len(order) // 2 :]):
        parts += [lab[chosen].mean(axis=0), hsv[chosen, 1:].mean(axis=0)]
    sat = hsv[:, 1]
    parts.append([np.corrcoef(luma, sat)[0, 1] if luma.std() > 0 and sat.std() > 0 else 0.0])
    return np.concatenate([np.ravel(p) for p in parts]).astype(np.float32)


def design_matrix(stats: np.ndarray, features: np.ndarray) -> np.ndarray:
    """``(N, N_STATS + F)`` regression inputs: statistics and L2-normalised pooled features.

    Parameters
    ----------
    stats : (N, N_STATS) ndarray
        :func:`photo_stats` of each photo.
    features : (N, F) ndarray
        The classifier's pooled penultimate features of the same photos.
    """
    stats = np.atleast_2d(np.asarray(stats, np.float64))
    features = np.atleast_2d(np.asarray(features, np.float64))
    if len(stats) != len(features):
        raise ValueError(
            f"`stats` and `features` must have one row per photo. Received: {len(stats)} "
            f"and {len(features)} rows"
        )
    norm = np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
    return np.concatenate([stats, features / norm], axis=1)


@dataclass(frozen=True)
class PhotometricDetector:
    """Fitted logistic regressions, one per condition in :attr:`conditions`.

    Attributes
    ----------
    conditions : tuple of str
        Names, in the row order of the arrays below.
    center, scale : (K, D) float64
        Standardisation of the design matrix per condition.
    coef : (K, D) float64
    intercept : (K,) float64
    threshold : (K,) float64
        Scores (log-odds) above it flag the condition.
    model_version : str
        Version of the model whose features were used.
    summary : dict
        Out-of-fold false-alarm and detection rates measured while fitting (JSON-able).
    """

    conditions: tuple[str, ...]
    center: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    threshold: np.ndarray
    model_version: str = ""
    summary: dict = field(default_factory=dict, compare=False)

    @property
    def n_inputs(self) -> int:
        return int(self.coef.shape[1])

    def scores(self, stats: np.ndarray, features: np.ndarray) -> np.ndarray:
        """``(N, K)`` log-odds that each photo shows each condition."""
        x = design_matrix(stats, features)
        if x.shape[1] != self.n_inputs:
            raise ValueError(
                f"The quality detector was fitted on {self.n_inputs - N_STATS} features. "
                f"Received: {x.shape[1] - N_STATS}"
            )
        z = (x[:, None, :] - self.center[None]) / self.scale[None]
        return np.einsum("nkd,kd->nk", z, self.coef) + self.intercept

    def judge(self, image: np.ndarray, features: np.ndarray) -> dict[str, tuple[float, bool]]:
        """``{condition: (score, flagged)}`` for one photo and its ``(F,)`` pooled features."""
        scores = self.scores(photo_stats(image)[None], np.reshape(features, (1, -1)))[0]
        return {
            name: (float(s), bool(s > t))
            for name, s, t in zip(self.conditions, scores, self.threshold, strict=True)
        }

    def save(self, path: str | Path) -> None:
        import json

        np.savez_compressed(
            path,
            conditions=np.array(self.conditions),
            center=self.center.astype(np.float32),
            scale=self.scale.astype(np.float32),
            coef=self.coef.astype(np.float32),
            intercept=self.intercept,
            threshold=self.threshold,
            model_version=np.str_(self.model_version),
            summary=np.str_(json.dumps(self.summary)),
        )


def _logistic(x: np.ndarray, y: np.ndarray):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(
        StandardScaler(),
        LogisticRegression(C=REGULARISATION, class_weight="balanced", max_iter=5000),
    )
    return model.fit(x, y)


def fit_photometric(
    stats: np.ndarray,
    features: np.ndarray,
    degraded: Mapping[str, list[tuple[np.ndarray, np.ndarray]]],
    groups: np.ndarray,
    *,
    folds: int = 5,
    false_alarm_rate: Mapping[str, float] | None = None,
    model_version: str = "",
) -> PhotometricDetector:
    """Fit one regression per condition: original photos against their degraded copies.

    Parameters
    ----------
    stats, features : (N, N_STATS), (N, F) ndarray
        The original photos.
    degraded : dict
        ``{condition: [(stats, features), ...]}``: each pair describes degraded copies of the
        same N photos, in the same order (one pair per degradation of that condition).
    groups : (N,) array
        Lesion of each photo: the out-of-fold scores that set the thresholds come from
        folds that never split a lesion (or a photo and its degraded copies).
    folds : int
        Folds for the out-of-fold scores.
    false_alarm_rate : dict, optional
        Share of the originals each condition may flag (default :data:`FALSE_ALARM_RATE`).

    Returns
    -------
    PhotometricDetector
    """
    from sklearn.model_selection import GroupKFold

    rates = {**FALSE_ALARM_RATE, **(false_alarm_rate or {})}
    x0 = design_matrix(stats, features)
    n = len(x0)
    splitter = GroupKFold(n_splits=folds)
    rows: dict[str, list] = {k: [] for k in ("center", "scale", "coef", "intercept", "threshold")}
    summary: dict[str, dict] = {}
    for name, copies in degraded.items():
        xs = [design_matrix(s, f) for s, f in copies]
        oof0, oofd = np.zeros(n), [np.zeros(n) for _ in xs]
        for train, held in splitter.split(x0, groups=groups):
            model = _logistic(
                np.concatenate([x0[train], *(x[train] for x in xs)]),
                np.r_[np.zeros(len(train)), np.ones(len(train) * len(xs))],
            )
            oof0[held] = model.decision_function(x0[held])
            for out, x in zip(oofd, xs, strict=True):
                out[held] = model.decision_function(x[held])
        threshold = float(np.quantile(oof0, 1.0 - rates[name]))
        model = _logistic(np.concatenate([x0, *xs]), np.r_[np.zeros(n), np.ones(n * len(xs))])
        scaler, regression = model[0], model[1]
        rows["center"].append(scaler.mean_)
        rows["scale"].append(scaler.scale_)
        rows["coef"].append(regression.coef_[0])
        rows["intercept"].append(float(regression.intercept_[0]))
        rows["threshold"].append(threshold)
        summary[name] = {
            "false_alarm_rate_target": rates[name],
            "false_alarms_out_of_fold": float((oof0 > threshold).mean()),
            "detection_out_of_fold": [float((o > threshold).mean()) for o in oofd],
        }
        logger.info("photometric %s: %s", name, summary[name])
    return PhotometricDetector(
        conditions=tuple(degraded),
        **{k: np.asarray(v, np.float64) for k, v in rows.items()},
        model_version=model_version,
        summary=summary,
    )


def load_photometric(path: str | Path) -> PhotometricDetector:
    """Read a detector saved by :meth:`PhotometricDetector.save` (ModelLoadError if unreadable)."""
    import json

    return read_fitted_file(
        path,
        "quality detector",
        lambda data: PhotometricDetector(
            conditions=tuple(str(c) for c in data["conditions"]),
            center=data["center"].astype(np.float64),
            scale=data["scale"].astype(np.float64),
            coef=data["coef"].astype(np.float64),
            intercept=data["intercept"].astype(np.float64),
            threshold=data["threshold"].astype(np.float64),
            model_version=str(data["model_version"]),
            summary=json.loads(str(data["summary"])),
        ),
    )
