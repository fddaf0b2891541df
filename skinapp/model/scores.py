"""From diagnosis logits to the malignancy score (pure numpy, shared by every inference path)."""

from __future__ import annotations

import numpy as np


def _logsumexp(x: np.ndarray) -> np.ndarray:
    top = x.max(axis=-1, keepdims=True)
    return (top + np.log(np.exp(x - top).sum(axis=-1, keepdims=True)))[..., 0]


def malignant_log_odds(logits: np.ndarray, malignant_mask: np.ndarray) -> np.ndarray:
    """Log-odds that a lesion is malignant, from softmax logits over diagnosis classes.

    Parameters
    ----------
    logits : (N, C) float ndarray
        Pre-softmax scores.
    malignant_mask : (C,) bool ndarray
        True for malignant diagnoses (mel, bcc, akiec, ...).

    Returns
    -------
    (N,) float64 ndarray
        ``log(sum softmax over malignant) - log(sum softmax over benign)``, in (-inf, inf);
        the uncalibrated input of temperature scaling.
    """
    logits = np.asarray(logits, np.float64)
    mask = np.asarray(malignant_mask, bool)
    return _logsumexp(logits[:, mask]) - _logsumexp(logits[:, ~mask])


def malignant_direction(
    probs: np.ndarray, weights: np.ndarray, malignant_mask: np.ndarray
) -> np.ndarray:
    """Gradient of the malignant log-odds with respect to the pooled features.

    For a dense head ``z = f @ W + b`` the log-odds ``L`` has
    ``dL/df = W @ (p_mal / P_mal - p_ben / P_ben)`` where ``p`` is the softmax restricted to each
    group. Weighting the last feature map by this vector is Grad-CAM for our head, with no
    gradient computation.

    Parameters
    ----------
    probs : (C,) softmax probabilities of one image.
    weights : (F, C) dense kernel.
    malignant_mask : (C,) bool.

    Returns
    -------
    (F,) float ndarray
    """
    mask = np.asarray(malignant_mask, bool)
    coeff = np.where(mask, probs / probs[mask].sum(), -probs / probs[~mask].sum())
    return weights @ coeff
