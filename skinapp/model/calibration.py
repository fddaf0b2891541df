"""Post-hoc calibration of the classifier's malignancy logit: temperature scaling and Platt.

Both maps are fitted on the validation split's logits and applied unchanged to new images:

- temperature: ``p = sigmoid(logit / T)``, one parameter ``T > 0`` (Guo et al., 2017); it
  never changes the ranking of lesions, so AUC is unchanged;
- Platt: ``p = sigmoid(a * logit + b)`` (Platt, 1999); ``a >= 0`` keeps the ranking, ``b``
  corrects a constant shift (e.g. a prevalence change between training and deployment).

``logits`` are ``(N,)`` finite floats: the pre-sigmoid output of the malignancy unit. A model
that only exposes a probability can be converted with :func:`to_logits`.
"""

from __future__ import annotations

import json
import logging
import math
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from scipy.special import expit, logit

from skinapp.errors import ModelLoadError
from skinapp.model.grading import GradeThresholds
from skinapp.model.labels import as_binary_arrays, require_both_classes

logger = logging.getLogger(__name__)

__all__ = [
    "CALIBRATION_FILE",
    "METHODS",
    "SCHEMA_VERSION",
    "T_MAX",
    "T_MIN",
    "Calibration",
    "apply_platt",
    "apply_temperature",
    "fit_calibration",
    "fit_platt",
    "fit_temperature",
    "load_calibration",
    "to_logits",
]

Method = Literal["temperature", "platt"]

#: Supported calibration methods.
METHODS: tuple[str, ...] = ("temperature", "platt")

#: Search range of the temperature. On separable data the likelihood keeps improving as
#: ``T -> 0``; the bound keeps the fit finite (and a warning says it was hit).
T_MIN, T_MAX = 0.05, 20.0

#: Bound on ``|a|`` and ``|b|`` for Platt scaling (only reached on degenerate data).
_PLATT_BOUND = 100.0


def _check_logits(logits: Any, y_true: Any) -> tuple[np.ndarray, np.ndarray]:
    y, z = as_binary_arrays(y_true, logits, probabilities=False, name="logits")
    require_both_classes(y, "Calibration")
    return y, z


def _nll(x: np.ndarray, y: np.ndarray) -> float:
    """Mean binary cross-entropy of ``sigmoid(x)`` against targets ``y`` (numerically stable)."""
    return float(np.mean(np.logaddexp(0.0, x) - y * x))


def to_logits(p: Any, *, eps: float = 1e-7) -> np.ndarray:
    """Convert probabilities to logits, clipping to ``[eps, 1 - eps]`` first.

    Parameters
    ----------
    p : (N,) array_like of float in [0, 1]
    eps : float
        Clip margin so that 0 and 1 map to finite logits (about +-16.1 for 1e-7).

    Returns
    -------
    (N,) ndarray of float64
    """
    return logit(np.clip(np.asarray(p, dtype=np.float64), eps, 1.0 - eps))


# === Temperature scaling ===


def apply_temperature(logits: Any, temperature: float) -> np.ndarray:
    """Return ``sigmoid(logits / temperature)``, a ``(N,)`` float64 array in [0, 1]."""
    if not (math.isfinite(temperature) and temperature > 0):
        raise ValueError(f"`temperature` must be > 0. Received: `temperature={temperature}`")
    return expit(np.asarray(logits, dtype=np.float64) / temperature)


def fit_temperature(logits: Any, y_true: Any) -> float:
    """Fit the temperature that minimises the NLL of ``sigmoid(logits / T)``.

    The NLL is minimised over ``log T`` in ``[log T_MIN, log T_MAX]`` with bounded Brent
    search (the NLL is convex in ``1/T``, hence unimodal in ``log T``). If the optimum lies
    on a bound (separable data, or logits anti-correlated with the labels) the bound is
    returned and a warning is issued.

    Parameters
    ----------
    logits : (N,) array_like of float
    y_true : (N,) array_like of {0, 1}, both classes present

    Returns
    -------
    float
        ``T`` in ``[T_MIN, T_MAX]``; ``T > 1`` softens an overconfident model.
    """
    from scipy.optimize import minimize_scalar  # fits only: the app just applies the map

    y, z = _check_logits(logits, y_true)
    bounds = (math.log(T_MIN), math.log(T_MAX))
    result = minimize_scalar(
        lambda log_t: _nll(z / math.exp(log_t), y),
        bounds=bounds,
        method="bounded",
        options={"xatol": 1e-7},
    )
    log_t = float(result.x)
    if min(abs(log_t - bounds[0]), abs(log_t - bounds[1])) < 1e-4:
        warnings.warn(
            f"Temperature fit reached its bound ({math.exp(log_t):.3g}); the validation logits "
            "may be separable or uninformative.",
            stacklevel=2,
        )
    temperature = math.exp(log_t)
    logger.info("Fitted temperature T=%.4f on %d logits", temperature, z.size)
    return temperature


# === Platt scaling ===


def apply_platt(logits: Any, a: float, b: float) -> np.ndarray:
    """Return ``sigmoid(a * logits + b)``, a ``(N,)`` float64 array in [0, 1]."""
    return expit(a * np.asarray(logits, dtype=np.float64) + b)


def fit_platt(logits: Any, y_true: Any) -> tuple[float, float]:
    """Fit Platt scaling ``p = sigmoid(a * logit + b)`` by maximum likelihood.

    As in Platt (1999) and scikit-learn's ``method="sigmoid"``, the targets are smoothed to
    ``(n_pos + 1) / (n_pos + 2)`` for malignant and ``1 / (n_neg + 2)`` for benign lesions,
    which keeps ``a`` finite on separable data and is negligible for large N. ``a`` is
    constrained to ``[0, 100]`` (the map must not reverse the ranking), ``b`` to
    ``[-100, 100]``; L-BFGS-B with the analytic gradient.

    Parameters
    ----------
    logits : (N,) array_like of float
    y_true : (N,) array_like of {0, 1}, both classes present

    Returns
    -------
    (a, b) : tuple of float
    """
    y, z = _check_logits(logits, y_true)
    n_pos = float(y.sum())
    n_neg = float(y.size - n_pos)
    target = np.where(y == 1, (n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0))

    def loss_and_grad(ab: np.ndarray) -> tuple[float, np.ndarray]:
        x = ab[0] * z + ab[1]
        residual = expit(x) - target
        grad = np.array([np.mean(residual * z), np.mean(residual)])
        return _nll(x, target), grad

    from scipy.optimize import minimize  # fits only: the app just applies the map

    result = minimize(
        loss_and_grad,
        x0=np.array([1.0, 0.0]),
        jac=True,
        method="L-BFGS-B",
        bounds=[(0.0, _PLATT_BOUND), (-_PLATT_BOUND, _PLATT_BOUND)],
    )
    if not result.success:
        warnings.warn(f"Platt fit did not converge: {result.message}", stacklevel=2)
    a, b = (float(v) for v in result.x)
    logger.info("Fitted Platt scaling a=%.4f b=%.4f on %d logits", a, b, z.size)
    return a, b


# === Calibration record ===


@dataclass(frozen=True)
class Calibration:
    """A fitted calibration map from malignancy logit to probability.

    Attributes
    ----------
    method : {"temperature", "platt"}
    temperature : float
        ``T > 0``; used when ``method == "temperature"`` (1.0 = identity).
    a, b : float
        Platt slope (>= 0) and intercept; used when ``method == "platt"``.
    """

    method: Method = "temperature"
    temperature: float = 1.0
    a: float = 1.0
    b: float = 0.0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(
                f"`method` must be one of {METHODS}. Received: `method={self.method!r}`"
            )
        if not (math.isfinite(self.temperature) and self.temperature > 0):
            raise ValueError(
                f"`temperature` must be > 0. Received: `temperature={self.temperature}`"
            )
        if not (math.isfinite(self.a) and self.a >= 0):
            raise ValueError(f"`a` must be finite and >= 0. Received: `a={self.a}`")
        if not math.isfinite(self.b):
            raise ValueError(f"`b` must be finite. Received: `b={self.b}`")

    def apply(self, logits: Any) -> np.ndarray:
        """Map ``(N,)`` logits to calibrated probabilities of malignancy in [0, 1]."""
        if self.method == "temperature":
            return apply_temperature(logits, self.temperature)
        return apply_platt(logits, self.a, self.b)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict (inverse of :meth:`from_dict`)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        """Build from :meth:`to_dict` output; unknown keys raise ``ValueError``."""
        unknown = set(data) - {"method", "temperature", "a", "b"}
        if unknown:
            raise ValueError(f"Unknown calibration keys. Received: `{sorted(unknown)}`")
        numbers = {k: float(data[k]) for k in ("temperature", "a", "b") if k in data}
        return cls(method=data.get("method", "temperature"), **numbers)


def fit_calibration(logits: Any, y_true: Any, method: Method = "temperature") -> Calibration:
    """Fit a :class:`Calibration` of the given method on ``(N,)`` logits and labels."""
    if method == "temperature":
        return Calibration(method="temperature", temperature=fit_temperature(logits, y_true))
    if method == "platt":
        a, b = fit_platt(logits, y_true)
        return Calibration(method="platt", a=a, b=b)
    raise ValueError(f"`method` must be one of {METHODS}. Received: `method={method!r}`")


# === The fitted file the app and ``predict`` load ===

#: Name of the file the app and ``predict`` load (written by ``skinapp.model.report``).
CALIBRATION_FILE = "calibration.json"

#: Bumped when the layout of ``metrics.json`` / ``calibration.json`` changes.
SCHEMA_VERSION = 1


def load_calibration(model_dir: str | Path) -> tuple[Calibration, GradeThresholds]:
    """Load the calibration and grade thresholds that ``skinapp.model.report`` wrote.

    Parameters
    ----------
    model_dir : str or Path
        Folder holding ``calibration.json``.

    Returns
    -------
    (Calibration, GradeThresholds)

    Raises
    ------
    ModelLoadError
        If the file is missing, not valid JSON, of another schema version, or holds invalid
        values.
    """
    path = Path(model_dir) / CALIBRATION_FILE
    if not path.is_file():
        raise ModelLoadError(
            f"No {CALIBRATION_FILE} in {Path(model_dir)}: run `python -m skinapp.evaluate` "
            "to calibrate the model and choose the grade thresholds."
        )
    try:
        data = json.loads(path.read_text())
        version = data.get("schema_version", SCHEMA_VERSION)
        if version != SCHEMA_VERSION:
            raise ValueError(
                f"expected schema_version {SCHEMA_VERSION}. Received: `schema_version={version}`"
            )
        calibration = Calibration.from_dict(data["calibration"])
        thresholds = GradeThresholds.from_dict(data["thresholds"])
    except (ValueError, KeyError, TypeError) as e:
        raise ModelLoadError(
            f"{path} is invalid ({type(e).__name__}: {e}); re-run evaluation."
        ) from e
    logger.info("Loaded calibration %s and thresholds %s from %s", calibration, thresholds, path)
    return calibration, thresholds
