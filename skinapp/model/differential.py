"""Differential diagnosis: calibrated probabilities over the diagnoses and a fair top call.

The network's last layer scores seven diagnoses (``akiec bcc bkl df mel nv vasc``). Its softmax
ranks lesions well but is not calibrated, and its arg-max almost never names a rare class
(dermatofibroma, vascular lesion), because the training data are 70 % naevi. This module
turns the (TTA-averaged) log-softmax of one answer into:

- **calibrated probabilities** ``q`` by vector scaling (``softmax(w * z + b)``, Guo et al.
  2017) or matrix scaling of the log-probabilities (= Dirichlet calibration, Kull et al.
  2019, with an L2 pull towards the identity), fitted on the validation split;
- **consistent with the grade**: ``q`` is rescaled within the malignant and the benign classes
  so that the malignant classes sum exactly to the calibrated ``p_malignant`` the risk grade
  is read from. The differential and the grade therefore always share one probability of
  malignancy;
- a **top call** ``argmax(log p + offsets)`` with per-class log offsets chosen on validation
  to maximise the balanced accuracy (mean per-class recall, the ISIC 2018 Task 3 metric); a
  lesion in risk grade 1 never gets a malignant top call (the grade says "low suspicion").

Everything here is pure numpy/scipy; ``skinapp.evaluate --differential`` fits it and writes
``models/differential.json``, read by :class:`skinapp.serving.Classifier`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

__all__ = [
    "ANSWERS",
    "DIFFERENTIAL_FILE",
    "DX_NAMES",
    "Differential",
    "DifferentialCalibration",
    "choose_offsets",
    "fit_differential",
    "fit_scaling",
    "load_differential",
    "log_softmax",
    "plain_name",
    "top_call",
]

#: Written by ``python -m skinapp.evaluate --differential``, beside the model.
DIFFERENTIAL_FILE = "differential.json"

#: Plain names of the diagnosis codes, for every page, the report and the CLI's help.
DX_NAMES: dict[str, str] = {
    "akiec": "actinic keratosis / Bowen's disease",
    "bcc": "basal cell carcinoma",
    "bkl": "seborrheic keratosis / benign keratosis",
    "df": "dermatofibroma",
    "mel": "melanoma",
    "nv": "melanocytic nevus (mole)",
    "vasc": "vascular lesion (angioma, haemorrhage)",
}

#: Methods :func:`fit_scaling` knows.
METHODS: tuple[str, ...] = ("vector", "matrix")


def plain_name(code: str) -> str:
    """The plain name of a diagnosis code (the code itself if unknown).

    Examples
    --------
    >>> plain_name("nv")
    'melanocytic nevus (mole)'
    """
    return DX_NAMES.get(str(code), str(code))


def log_softmax(logits: Any) -> np.ndarray:
    """Row-wise log-softmax of ``(..., C)`` logits, float64."""
    z = np.asarray(logits, np.float64)
    top = z.max(axis=-1, keepdims=True)
    return z - top - np.log(np.exp(z - top).sum(axis=-1, keepdims=True))


# === Calibration fit ===


def _params_to_wb(theta: np.ndarray, method: str, c: int) -> tuple[np.ndarray, np.ndarray]:
    if method == "vector":
        return np.diag(theta[:c]), theta[c:]
    return theta[: c * c].reshape(c, c), theta[c * c :]


def fit_scaling(
    log_probs: Any,
    y: Any,
    *,
    method: str = "vector",
    l2: float = 1e-3,
) -> tuple[np.ndarray, np.ndarray]:
    """Fit ``softmax(log_probs @ W.T + b)`` by maximum likelihood with an L2 pull to identity.

    Parameters
    ----------
    log_probs : (N, C) array_like
        Log-softmax of the model's logits (or its mean over TTA views).
    y : (N,) array_like of int in [0, C)
        True class indices.
    method : {"vector", "matrix"}
        ``vector``: ``W`` diagonal (2C parameters); ``matrix``: full ``W`` (C² + C).
    l2 : float
        Penalty ``l2 * (||W - I||² + ||b||²)`` added to the mean negative log-likelihood.

    Returns
    -------
    W : (C, C) ndarray
    b : (C,) ndarray

    Raises
    ------
    ValueError
        On shape mismatch, labels out of range or an unknown method.
    """
    z = np.asarray(log_probs, np.float64)
    labels = np.asarray(y).astype(np.int64)
    if z.ndim != 2 or labels.shape != (len(z),):
        raise ValueError(
            f"`log_probs` must be (N, C) and `y` (N,). Received: {z.shape} and {labels.shape}"
        )
    c = z.shape[1]
    if labels.min(initial=0) < 0 or labels.max(initial=0) >= c:
        raise ValueError(f"`y` must be class indices in [0, {c}). Received: {np.unique(labels)}")
    if method not in METHODS:
        raise ValueError(f"`method` must be one of {METHODS}. Received: `method={method!r}`")
    onehot = np.eye(c)[labels]
    n = len(z)
    eye = np.eye(c)
    theta0 = np.concatenate(
        [np.ones(c), np.zeros(c)] if method == "vector" else [eye.ravel(), np.zeros(c)]
    )

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = _params_to_wb(theta, method, c)
        s = z @ w.T + b
        ls = log_softmax(s)
        nll = -np.sum(onehot * ls) / n
        g = (np.exp(ls) - onehot) / n  # dL/ds, (N, C)
        gw = g.T @ z + 2 * l2 * (w - eye)
        gb = g.sum(0) + 2 * l2 * b
        reg = l2 * (np.sum((w - eye) ** 2) + np.sum(b**2))
        grad_w = np.diag(gw) if method == "vector" else gw.ravel()
        return nll + reg, np.concatenate([grad_w, gb])

    from scipy.optimize import minimize  # fits only: the app just applies the map

    res = minimize(loss, theta0, jac=True, method="L-BFGS-B", options={"maxiter": 2000})
    if not res.success:
        logger.warning("Differential calibration did not fully converge: %s", res.message)
    return _params_to_wb(res.x, method, c)


# === The top call ===


def top_call(
    probs: Any,
    offsets: Any,
    malignant_mask: Any,
    low_grade: Any = None,
) -> np.ndarray:
    """Class index of the top call for each row: ``argmax(log p + offsets)``.

    Parameters
    ----------
    probs : (N, C) array_like of probabilities (rows sum to 1)
    offsets : (C,) array_like of log offsets (0 = plain arg-max)
    malignant_mask : (C,) bool
    low_grade : (N,) bool, optional
        Rows in risk grade 1: their top call is restricted to benign classes, so the
        differential never names a malignant diagnosis first where the grade says
        "low suspicion".

    Returns
    -------
    (N,) int ndarray

    Examples
    --------
    >>> top_call([[0.5, 0.3, 0.2]], [0.0, 0.0, 1.0], [True, False, False]).tolist()
    [2]
    >>> top_call([[0.9, 0.1, 0.0]], [0.0, 0.0, 0.0], [True, False, False], [True]).tolist()
    [1]
    """
    p = np.atleast_2d(np.asarray(probs, np.float64))
    with np.errstate(divide="ignore"):
        score = np.log(p) + np.asarray(offsets, np.float64)
    if low_grade is not None:
        low = np.asarray(low_grade, bool).reshape(-1, 1)
        score = np.where(low & np.asarray(malignant_mask, bool)[None], -np.inf, score)
    return np.argmax(score, axis=1)


def balanced_accuracy(y: np.ndarray, pred: np.ndarray, c: int) -> float:
    """Mean per-class recall over the classes present in ``y``."""
    recalls = [np.mean(pred[y == k] == k) for k in range(c) if np.any(y == k)]
    return float(np.mean(recalls))


def choose_offsets(
    probs: Any,
    y: Any,
    malignant_mask: Any,
    low_grade: Any = None,
    *,
    grid: Sequence[float] = tuple(np.round(np.arange(-1.0, 4.01, 0.125), 3)),
    rounds: int = 4,
) -> np.ndarray:
    """Per-class log offsets maximising the balanced accuracy of :func:`top_call`.

    Starts from no offset and moves one class's offset at a time over ``grid`` (coordinate
    ascent, ``rounds`` passes; the nevus offset stays 0 as the reference). Ties keep the
    offset closest to 0, so a class is only pushed as far as the data asks.

    Returns
    -------
    (C,) float ndarray
    """
    p = np.asarray(probs, np.float64)
    labels = np.asarray(y).astype(np.int64)
    c = p.shape[1]
    offsets = np.zeros(c)
    ref = int(np.argmax(np.bincount(labels, minlength=c)))  # the commonest class stays at 0
    best = balanced_accuracy(labels, top_call(p, offsets, malignant_mask, low_grade), c)
    for _ in range(rounds):
        changed = False
        for k in range(c):
            if k == ref:
                continue
            for value in sorted(grid, key=abs):
                trial = offsets.copy()
                trial[k] = value
                score = balanced_accuracy(labels, top_call(p, trial, malignant_mask, low_grade), c)
                if score > best + 1e-12:
                    best, offsets, changed = score, trial, True
        if not changed:
            break
    return offsets


# === The fitted map ===


@dataclass(frozen=True)
class Differential:
    """One answer's differential diagnosis.

    Attributes
    ----------
    probs : dict
        Calibrated probability per class code, summing to 1; the malignant classes sum to
        the answer's ``p_malignant``.
    top : str
        The top call (a class code).
    malignant : tuple of str
        The malignant class codes.
    """

    probs: dict[str, float]
    top: str
    malignant: tuple[str, ...] = ()

    @property
    def p_malignant(self) -> float:
        """Sum of the malignant classes (equals the answer's ``p_malignant``)."""
        return float(sum(p for c, p in self.probs.items() if c in self.malignant))

    def ranked(self, k: int | None = None) -> list[tuple[str, float]]:
        """``(code, probability)`` most likely first, the first ``k``; the top call is added
        at the end when it is not among them (it is chosen to be fair to rare diagnoses, so it
        need not be the likeliest)."""
        order = sorted(self.probs.items(), key=lambda cp: -cp[1])
        out = order if k is None else order[:k]
        if self.top not in {c for c, _ in out}:
            out = [*out, (self.top, self.probs[self.top])]
        return out


@dataclass(frozen=True)
class DifferentialCalibration:
    """The fitted differential map (see the module docstring).

    Attributes
    ----------
    classes : tuple of str
    malignant : tuple of str
    weight : (C, C) ndarray
    bias : (C,) ndarray
    offsets : (C,) ndarray
        Log offsets of the top call.
    method : str
    model_version : str
    """

    classes: tuple[str, ...]
    malignant: tuple[str, ...]
    weight: np.ndarray
    bias: np.ndarray
    offsets: np.ndarray
    method: str = "vector"
    model_version: str = ""

    @property
    def malignant_mask(self) -> np.ndarray:
        return np.array([c in self.malignant for c in self.classes])

    def calibrated(self, log_probs: Any) -> np.ndarray:
        """``(N, C)`` calibrated probabilities of ``(N, C)`` log-softmax (before the rescale)."""
        z = np.atleast_2d(np.asarray(log_probs, np.float64))
        return np.exp(log_softmax(z @ self.weight.T + self.bias))

    def probabilities(self, log_probs: Any, p_malignant: Any) -> np.ndarray:
        """Calibrated probabilities whose malignant classes sum to ``p_malignant``.

        Parameters
        ----------
        log_probs : (N, C) array_like
            Log-softmax of the answer (TTA: the mean over the views).
        p_malignant : (N,) array_like in [0, 1]
            The calibrated malignancy probability the grade is read from.

        Returns
        -------
        (N, C) ndarray, rows summing to 1
        """
        q = self.calibrated(log_probs)
        p_mal = np.clip(np.asarray(p_malignant, np.float64).reshape(-1, 1), 0.0, 1.0)
        mask = self.malignant_mask[None]
        q_mal = np.where(mask, q, 0.0)
        q_ben = np.where(mask, 0.0, q)
        q_mal = q_mal / np.maximum(q_mal.sum(1, keepdims=True), 1e-300)
        q_ben = q_ben / np.maximum(q_ben.sum(1, keepdims=True), 1e-300)
        return p_mal * q_mal + (1.0 - p_mal) * q_ben

    def top_index(self, probs: Any, grade: Any = None) -> np.ndarray:
        """``(N,)`` top-call indices of :meth:`probabilities` rows (grade-1 rows: benign)."""
        low = None if grade is None else np.asarray(grade).reshape(-1) == 1
        return top_call(probs, self.offsets, self.malignant_mask, low)

    def differential(self, log_probs: Any, p_malignant: float, grade: int) -> Differential:
        """The :class:`Differential` of one answer."""
        p = self.probabilities(np.asarray(log_probs)[None], [p_malignant])
        top = int(self.top_index(p, [grade])[0])
        return Differential(
            probs={c: float(v) for c, v in zip(self.classes, p[0], strict=True)},
            top=self.classes[top],
            malignant=self.malignant,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "classes": list(self.classes),
            "malignant": list(self.malignant),
            "method": self.method,
            "weight": np.round(self.weight, 8).tolist(),
            "bias": np.round(self.bias, 8).tolist(),
            "offsets": np.round(self.offsets, 6).tolist(),
            "model_version": self.model_version,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DifferentialCalibration:
        classes = tuple(data["classes"])
        c = len(classes)
        weight = np.asarray(data["weight"], np.float64)
        bias = np.asarray(data["bias"], np.float64)
        offsets = np.asarray(data["offsets"], np.float64)
        if weight.shape != (c, c) or bias.shape != (c,) or offsets.shape != (c,):
            raise ValueError(
                f"A differential map for {c} classes needs weight ({c}, {c}), bias and offsets "
                f"({c},). Received: {weight.shape}, {bias.shape}, {offsets.shape}"
            )
        return cls(
            classes=classes,
            malignant=tuple(data["malignant"]),
            weight=weight,
            bias=bias,
            offsets=offsets,
            method=str(data.get("method", "vector")),
            model_version=str(data.get("model_version", "")),
        )


def fit_differential(
    log_probs: Any,
    y: Any,
    p_malignant: Any,
    grade: Any,
    *,
    classes: Sequence[str],
    malignant: Sequence[str],
    method: str = "vector",
    model_version: str = "",
) -> DifferentialCalibration:
    """Fit the scaling and the top-call offsets on one (validation) split.

    Parameters
    ----------
    log_probs : (N, C) log-softmax of the answer
    y : (N,) class indices
    p_malignant, grade : (N,) the answer's calibrated malignancy probability and risk grade
    classes, malignant : class codes, in logit order, and the malignant ones
    method : {"vector", "matrix"}
    """
    weight, bias = fit_scaling(log_probs, y, method=method)
    draft = DifferentialCalibration(
        classes=tuple(classes),
        malignant=tuple(malignant),
        weight=weight,
        bias=bias,
        offsets=np.zeros(len(classes)),
        method=method,
        model_version=model_version,
    )
    probs = draft.probabilities(log_probs, p_malignant)
    low = np.asarray(grade).reshape(-1) == 1
    offsets = choose_offsets(probs, y, draft.malignant_mask, low)
    return DifferentialCalibration(
        classes=draft.classes,
        malignant=draft.malignant,
        weight=weight,
        bias=bias,
        offsets=offsets,
        method=method,
        model_version=model_version,
    )


#: The two answers a map is fitted for: the app's 8-view TTA mean and ``predict``'s one view.
ANSWERS: tuple[str, ...] = ("tta", "single_view")


def load_differential(
    model_dir: str | Path, model_version: str
) -> dict[str, DifferentialCalibration]:
    """The differential maps saved for this model, by answer (``"tta"``, ``"single_view"``).

    Empty when ``differential.json`` is absent, invalid or was fitted for another model
    (with a log line saying which command makes it).
    """
    path = Path(model_dir) / DIFFERENTIAL_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
        maps = {
            answer: DifferentialCalibration.from_dict(data[answer]["calibration"])
            for answer in ANSWERS
            if answer in data
        }
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        logger.warning("%s is not a valid differential map (%s): no differential", path, err)
        return {}
    stale = {a: m.model_version for a, m in maps.items() if m.model_version != model_version}
    if stale:
        logger.warning(
            "%s was fitted for model %s, not %s: no differential. Rerun "
            "`python -m skinapp.evaluate --differential`.",
            path,
            sorted(set(stale.values())),
            model_version,
        )
        return {}
    return maps
