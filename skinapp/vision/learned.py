"""The learned lesion segmenter at serving time (LiteRT; TensorFlow is never imported here).

``models/segmenter.tflite`` is a MobileNetV2 U-Net (:mod:`skinapp.model.segmenter`, trained
with ``python -m skinapp.train_segmenter`` on the train-split masks, epoch and threshold
chosen on the val-split masks). ``models/segmenter.json`` beside it gives the input side,
the val-tuned probability threshold and the confidence below which an outline is flagged as
uncertain.

The photo is squashed to the model's square input (the geometry the model was trained
with) and the ``(S, S)`` lesion probability map that comes back is upsampled bilinearly to
the photo's own size, so the outline is smooth at any resolution and follows the border:
no convex hull. Moving the threshold (:func:`threshold_for`, the Diagnose page's
"boundary sensitivity") re-cuts the same map without running the model again.

When the model files are missing, :func:`load_segmenter` returns None and the app falls
back to the classical method (:mod:`skinapp.vision.segment`).
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from skinapp.errors import ModelLoadError
from skinapp.model.preprocessing import at_model_scale
from skinapp.vision.segment import (
    Segmentation,
    SegmentParams,
    outline_message,
    segment_lesion,
)

logger = logging.getLogger(__name__)

__all__ = [
    "FALLBACK_NOTE",
    "SEGMENTER_CONFIG",
    "SEGMENTER_FILE",
    "UNCERTAIN_NOTE",
    "LearnedSegmenter",
    "boundary_confidence",
    "load_segmenter",
    "make_interpreter",
    "mask_from_probability",
    "outline_from_probability",
    "outline_lesion",
    "threshold_for",
]

SEGMENTER_FILE = "segmenter.tflite"
SEGMENTER_CONFIG = "segmenter.json"
#: Threshold and uncertainty cut-off used when ``segmenter.json`` does not give them.
DEFAULT_THRESHOLD = 0.5
DEFAULT_MIN_CONFIDENCE = 0.8
#: Pieces smaller than this share of the largest piece are dropped as specks.
MIN_PIECE_SHARE = 0.05
#: Pixels of the probability map counted by :func:`boundary_confidence`.
_CONFIDENCE_FLOOR = 0.05


def make_interpreter(model_bytes: bytes, num_threads: int, path: Path):
    """A ready LiteRT interpreter for ``model_bytes`` (the one place one is created)."""
    from ai_edge_litert.interpreter import Interpreter

    try:
        interp = Interpreter(model_content=model_bytes, num_threads=num_threads)
        interp.allocate_tensors()
    except (ValueError, RuntimeError) as err:
        raise ModelLoadError(
            f"Cannot load {path}: {err}. Retrain with `python -m skinapp.train_segmenter` "
            "or restore the shipped models/."
        ) from err
    return interp


@dataclass(frozen=True)
class SegmenterInfo:
    """What ``segmenter.json`` says about the model."""

    input_size: int
    threshold: float = DEFAULT_THRESHOLD
    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    #: 1, or 2: the map is the mean of the photo's and its mirror image's (chosen on val).
    views: int = 1


class LearnedSegmenter:
    """Lesion probability maps from ``segmenter.tflite``.

    Interpreters are lent from a small pool, like the classifier's: at most
    ``max_interpreters`` exist (default: one per core); a caller waits for a free one.

    Raises
    ------
    ModelLoadError
        If a file is missing, unreadable or not a segmenter.
    """

    def __init__(
        self,
        model_dir: str | Path,
        num_threads: int | None = None,
        max_interpreters: int | None = None,
    ):
        self.model_dir = Path(model_dir)
        path, config = self.model_dir / SEGMENTER_FILE, self.model_dir / SEGMENTER_CONFIG
        for p in (path, config):
            if not p.is_file():
                raise ModelLoadError(
                    f"Segmenter file missing: {p}. Train it with `python -m "
                    "skinapp.train_segmenter` or restore the shipped models/."
                )
        try:
            data = json.loads(config.read_text())
            self.info = SegmenterInfo(
                input_size=int(data["input_size"]),
                threshold=float(data.get("threshold", DEFAULT_THRESHOLD)),
                min_confidence=float(data.get("min_confidence", DEFAULT_MIN_CONFIDENCE)),
                views=int(data.get("views", 1)),
            )
            if self.info.views not in (1, 2):
                raise ValueError(f"views must be 1 or 2, not {self.info.views}")
        except (ValueError, KeyError, TypeError) as err:
            raise ModelLoadError(f"{config} is not a valid segmenter config: {err}") from err
        self.path = path
        self._model_bytes = path.read_bytes()
        self.num_threads = num_threads or os.cpu_count() or 1
        self.max_interpreters = max_interpreters or os.cpu_count() or 1
        self._pool: queue.LifoQueue = queue.LifoQueue()
        self._lock = threading.Lock()
        self.interpreters_created = 0
        with self._interpreter():  # fail now, not on the first upload
            pass

    @contextmanager
    def _interpreter(self) -> Iterator[Any]:
        """Lend one interpreter: a free one, a new one while fewer than the maximum exist,
        else the next one given back."""
        try:
            interp = self._pool.get_nowait()
        except queue.Empty:
            with self._lock:
                create = self.interpreters_created < self.max_interpreters
                self.interpreters_created += int(create)
            if create:
                try:
                    interp = self._new_interpreter()
                except BaseException:
                    with self._lock:
                        self.interpreters_created -= 1
                    raise
            else:
                interp = self._pool.get()
        try:
            yield interp
        finally:
            self._pool.put(interp)

    def _new_interpreter(self):
        interp = make_interpreter(self._model_bytes, self.num_threads, self.path)
        if self.info.views > 1:
            index = interp.get_input_details()[0]["index"]
            shape = interp.get_input_details()[0]["shape"]
            interp.resize_tensor_input(index, [self.info.views, *shape[1:]])
            interp.allocate_tensors()
        shape = tuple(interp.get_input_details()[0]["shape"][1:])
        size = self.info.input_size
        if shape != (size, size, 3):
            raise ModelLoadError(
                f"{self.path} takes inputs of shape {shape}, not ({size}, {size}, 3) as "
                f"{SEGMENTER_CONFIG} says. Retrain with `python -m skinapp.train_segmenter`."
            )
        return interp

    def probability(self, image: np.ndarray) -> np.ndarray:
        """``(S, S) float32`` lesion probability of an RGB ``uint8`` photo (squashed to S²).

        The photo is first brought to the dataset's scale (:func:`at_model_scale`, a no-op
        for a photo already at it), as every training photo was, then squashed to S².
        """
        size = self.info.input_size
        image = at_model_scale(image)
        interpolation = cv2.INTER_AREA if max(image.shape[:2]) > size else cv2.INTER_LINEAR
        small = cv2.resize(image, (size, size), interpolation=interpolation)
        pixels = small[None].astype(np.float32)
        if self.info.views == 2:
            pixels = np.concatenate([pixels, pixels[:, :, ::-1]])
        with self._interpreter() as interp:
            interp.set_tensor(interp.get_input_details()[0]["index"], pixels)
            interp.invoke()
            out = interp.get_tensor(interp.get_output_details()[0]["index"])[..., 0]
            if self.info.views == 2:
                return ((out[0] + out[1, :, ::-1]) / 2).astype(np.float32)
            return np.array(out[0], dtype=np.float32)


def load_segmenter(
    model_dir: str | Path, num_threads: int | None = None, max_interpreters: int | None = None
) -> LearnedSegmenter | None:
    """The learned segmenter of ``model_dir``, or None (classical fallback) without its files."""
    if not (Path(model_dir) / SEGMENTER_FILE).is_file():
        logger.info("No %s in %s: the classical segmentation is used.", SEGMENTER_FILE, model_dir)
        return None
    return LearnedSegmenter(model_dir, num_threads, max_interpreters)


def threshold_for(sensitivity: float, tuned: float = DEFAULT_THRESHOLD) -> float:
    """Probability threshold for a boundary sensitivity in [0, 1].

    0.5 gives the val-tuned ``tuned`` threshold; higher sensitivity lowers the threshold
    (the outline grows, taking in paler rims), lower raises it (the outline shrinks to the
    surest core). The ends stop short of 0 and 1.
    """
    s = min(max(float(sensitivity), 0.0), 1.0)
    if s >= 0.5:
        return tuned - (tuned - 0.05) * (s - 0.5) * 2
    return tuned + (0.95 - tuned) * (0.5 - s) * 2


def boundary_confidence(probability: np.ndarray) -> float:
    """How sharp the map is: mean ``|2p - 1|`` over the pixels with ``p >= 0.05``, in [0, 1].

    1 when the model is sure of every pixel near the lesion; values near 0 when much of
    the lesion and its rim sit near the threshold (the outline could move a lot).
    """
    p = np.asarray(probability, dtype=np.float32)
    near = p >= _CONFIDENCE_FLOOR
    if not near.any():
        return 1.0
    return float(np.abs(2.0 * p[near] - 1.0).mean())


def mask_from_probability(
    probability: np.ndarray, shape: tuple[int, int], threshold: float
) -> np.ndarray:
    """``(H, W) bool`` lesion mask of the photo from the model's ``(S, S)`` map.

    Bilinear upsampling to ``shape``, the threshold, specks (< 5 % of the largest piece)
    dropped and holes filled. Several large pieces are all kept (a lesion in two parts).
    """
    height, width = shape
    up = cv2.resize(probability, (width, height), interpolation=cv2.INTER_LINEAR)
    mask = (up >= threshold).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count > 2:
        areas = stats[1:, cv2.CC_STAT_AREA]
        kept = np.zeros(count, np.uint8)  # a lookup table by label: 4x faster than np.isin
        kept[1:][areas >= MIN_PIECE_SHARE * areas.max()] = 1
        mask = np.take(kept, labels)
    if count > 1:  # fill holes: everything not reached from outside the outer contours
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(mask, contours, -1, 1, thickness=cv2.FILLED)
    return mask.astype(bool)


# === Outlines ===

UNCERTAIN_NOTE = (
    "Outline uncertain: the segmenter is unsure where the border lies (boundary confidence "
    "{confidence:.2f}). Check the outline and move the boundary sensitivity if it is off; "
    "the ABCD measures follow the outline."
)
FALLBACK_NOTE = (
    "The learned segmenter is not installed (models/segmenter.tflite), so the classical "
    "outline is shown."
)
_NOTHING_FOUND = (
    "No lesion found: the segmenter sees no lesion in this photo. If the lesion fills the "
    "whole photo, take one that shows some normal skin around it."
)
#: A mask with fewer pixels than this share of the photo counts as nothing found.
_MIN_AREA_SHARE = 2e-4


def outline_lesion(
    image: np.ndarray,
    params: SegmentParams,
    segmenter: LearnedSegmenter | None,
    *,
    preprocessed: np.ndarray | None = None,
    small: np.ndarray | None = None,
) -> Segmentation:
    """The lesion outline the app shows, measures and saves: the one place that decides.

    The learned segmenter on ``image`` (the RGB photo as taken: the model was trained on
    photos without preprocessing) when ``params.method == "learned"`` and it is installed;
    else the classical :func:`~skinapp.vision.segment.segment_lesion` on ``preprocessed``
    (hair removed; ``image`` when not given), without convex hull by default. The mask
    has the image's height and width. ``small``, when given, is ``image`` already brought
    to the model's scale (:func:`at_model_scale`): the segmenter reads it instead of
    shrinking ``image`` again.
    """
    if params.method == "learned" and segmenter is not None:
        probability = segmenter.probability(image if small is None else small)
        threshold = threshold_for(params.sensitivity, segmenter.info.threshold)
        return outline_from_probability(
            probability, image.shape[:2], threshold, min_confidence=segmenter.info.min_confidence
        )
    return segment_lesion(image if preprocessed is None else preprocessed, params)


def outline_from_probability(
    probability: np.ndarray,
    shape: tuple[int, int],
    threshold: float,
    *,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
) -> Segmentation:
    """A learned :class:`Segmentation` of a photo of ``shape`` from the model's map.

    Pure and fast (no model call): the Diagnose page's boundary slider re-cuts the same map.
    """
    height, width = shape
    confidence = round(boundary_confidence(probability), 4)
    mask = mask_from_probability(probability, shape, threshold)
    learned = {
        "method": "learned",
        "confidence": confidence,
        "uncertain": confidence < min_confidence,
        "threshold": round(float(threshold), 4),
        "probability": probability,
    }
    area = int(np.count_nonzero(mask))
    if area < max(4, _MIN_AREA_SHARE * height * width):
        return Segmentation(
            mask=np.zeros(shape, bool),
            contour=np.zeros((0, 2), np.int32),
            bbox=(0, 0, 0, 0),
            found=False,
            touches_border=False,
            area_fraction=0.0,
            message=_NOTHING_FOUND,
            **learned,
        )
    mask_u8 = mask.astype(np.uint8)
    contours, _ = cv2.findContours(mask_u8, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    contour = max(contours, key=cv2.contourArea).reshape(-1, 2).astype(np.int32)
    x, y, w, h = cv2.boundingRect(mask_u8)
    edge = max(1, round(max(shape) / 224))
    edge_pixels = (
        np.count_nonzero(mask[:edge])
        + np.count_nonzero(mask[-edge:])
        + np.count_nonzero(mask[:, :edge])
        + np.count_nonzero(mask[:, -edge:])
    )
    touches = edge_pixels >= 2 * edge
    fraction = area / (height * width)
    message = outline_message(touches, fraction)
    return Segmentation(
        mask=mask,
        contour=contour,
        bbox=(int(x), int(y), int(w), int(h)),
        found=True,
        touches_border=bool(touches),
        area_fraction=float(fraction),
        message=message,
        **learned,
    )
