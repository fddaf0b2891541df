"""The one inference module: LiteRT classifier used by the app, ``predict`` and ``evaluate``.

Loads ``model.tflite`` (float32, XNNPACK on CPU) plus the small JSON files saved beside it,
and turns RGB photos into calibrated malignancy probabilities, a risk grade and a
class-activation heat map, from one inference pass. TensorFlow is never imported here.

Trust (``skinapp.trust``): when ``models/ood.npz`` is present, every prediction also gets an
out-of-distribution score from the same pass's features; ``predict(image, tta=True)`` runs
the eight flips/quarter turns in one batch and adds the interval of their probabilities.

Thread safety and memory: a LiteRT interpreter must not be used by two threads at once, so a
classifier keeps a fixed pool of at most ``max_interpreters`` of them (about 15 MB each), lent
to one ``run`` at a time; a thread that finds them all in use waits for one. (One interpreter
per thread, as before, grew with every Streamlit rerun thread and never shrank.) The model
bytes are read once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from skinapp.errors import ModelLoadError
from skinapp.model.calibration import Calibration, load_calibration
from skinapp.model.differential import (
    Differential,
    DifferentialCalibration,
    load_differential,
    log_softmax,
)
from skinapp.model.grading import GradeThresholds, assign_grade
from skinapp.model.preprocessing import ModelInputSpec, prepare_model_input
from skinapp.model.scores import malignant_direction, malignant_log_odds
from skinapp.trust.detector import TrustDetector, load_detector
from skinapp.trust.ood import OOD_FILE, pool_features
from skinapp.trust.photometric import PHOTOMETRIC_FILE, PhotometricDetector, load_photometric
from skinapp.trust.tta import load_tta_calibration, spread, tta_views
from skinapp.vision.learned import LearnedSegmenter, load_segmenter

logger = logging.getLogger(__name__)

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent.parent / "models"
MODEL_FILE = "model.tflite"
CONFIG_FILE = "model_config.json"


def default_model_dir() -> Path:
    """``SKINAPP_MODEL_DIR`` if set, else the repository's ``models/``."""
    return Path(os.environ.get("SKINAPP_MODEL_DIR", DEFAULT_MODEL_DIR))


@dataclass(frozen=True)
class Prediction:
    """One image's result.

    Attributes
    ----------
    p_malignant : float
        Calibrated probability of malignancy, in [0, 1].
    log_odds : float
        Uncalibrated malignant log-odds from the network.
    label : str
        ``"malignant"`` if ``p_malignant >= thresholds.operating`` else ``"benign"``.
    grade : int
        Risk grade 1–3 (not a cancer stage).
    class_probs : dict
        Softmax probability per diagnosis class (uncalibrated; for explanation only).
    heatmap : (h, w) float32 ndarray
        Where the evidence for malignancy lies, in [0, 1], on the model's last feature grid
        (7×7); upsample to the image for display.
    ood_score : float or None
        Out-of-distribution score (:mod:`skinapp.trust.ood`); None without ``ood.npz``.
    ood : bool or None
        True when the photo does not look like a dermoscopic image of a skin lesion
        (then the app shows no grade; see :func:`skinapp.trust.decision.decide`).
    unusual_score : float or None
        Distance of the features to the training lesions (:mod:`skinapp.trust.ood`).
    unusual : bool or None
        A lesion, but unlike the training photos: the grade stays, with a caution.
    p_low, p_high : float or None
        With test-time augmentation: lowest and highest probability over the views.
    unstable : bool
        With TTA: the views disagree on the grade (the interval crosses a grade threshold).
    n_views : int
        1, or the number of TTA views ``p_malignant`` averages (their mean log-odds, with the
        calibration refitted for it).
    features : (F,) float32 ndarray or None
        Pooled penultimate features of the unrotated view (what the OOD score and the learned
        quality checks of :mod:`skinapp.trust.photometric` read).
    differential : Differential or None
        Calibrated probabilities over the diagnoses (their malignant classes sum to
        ``p_malignant``) and the top call (:mod:`skinapp.model.differential`), fitted for this
        answer (one view or TTA); None without ``differential.json``.
    """

    p_malignant: float
    log_odds: float
    label: str
    grade: int
    class_probs: dict[str, float] = field(default_factory=dict)
    heatmap: np.ndarray | None = None
    ood_score: float | None = None
    ood: bool | None = None
    unusual_score: float | None = None
    unusual: bool | None = None
    p_low: float | None = None
    p_high: float | None = None
    unstable: bool = False
    n_views: int = 1
    features: np.ndarray | None = field(default=None, repr=False, compare=False)
    differential: Differential | None = None


#: Images per interpreter call. An interpreter's activation memory grows with the batch its
#: tensors are allocated for (MobileNetV2 at 224 px: some 60 MB more at 8 images than at 1,
#: per interpreter, for good), while one image at a time is as fast on a CPU and gives the
#: same outputs (the 8 TTA views: 37 ms vs 41 ms on one thread, identical logits). So
#: ``run`` feeds a batch through one image at a time (issue 21: memory).
INVOKE_BATCH = 1


@dataclass
class _Slot:
    """One LiteRT interpreter, the batch size its tensors are allocated for, its outputs."""

    interpreter: object
    batch: int
    outputs: dict[str, int]


class Classifier:
    """Calibrated lesion classifier over a LiteRT model directory.

    Parameters
    ----------
    model_dir : path
        Folder with ``model.tflite``, ``model_config.json`` and ``calibration.json``.
    num_threads : int, optional
        Threads per interpreter (default: all cores).
    calibrated : bool
        Load ``calibration.json`` (False only while ``evaluate`` is fitting it).
    max_interpreters : int, optional
        Most LiteRT interpreters this classifier creates (default: the number of cores);
        they are reused, and callers beyond that wait for one.

    Raises
    ------
    ModelLoadError
        If a file is missing or unreadable, with the command that makes it.
    """

    def __init__(
        self,
        model_dir: str | Path | None = None,
        num_threads: int | None = None,
        *,
        calibrated: bool = True,
        max_interpreters: int | None = None,
    ):
        self.model_dir = Path(model_dir) if model_dir else default_model_dir()
        model_path = self.model_dir / MODEL_FILE
        config_path = self.model_dir / CONFIG_FILE
        for path in (model_path, config_path):
            if not path.is_file():
                raise ModelLoadError(
                    f"Model file missing: {path}. Train with `python -m skinapp.train` and "
                    "export with `python -m skinapp.evaluate`, or restore the shipped models/."
                )
        try:
            config = json.loads(config_path.read_text())
            self.classes: tuple[str, ...] = tuple(config["classes"])
            self.malignant_mask = np.array([c in config["malignant_classes"] for c in self.classes])
            self.input_spec = ModelInputSpec.from_dict(config.get("input", {}))
        except (ValueError, KeyError) as err:
            raise ModelLoadError(f"{config_path} is not a valid model config: {err}") from err
        self.calibration, self.thresholds = (
            load_calibration(self.model_dir) if calibrated else (Calibration(), None)
        )
        self._model_bytes = model_path.read_bytes()
        self.version = hashlib.sha256(self._model_bytes).hexdigest()[:12]
        self.ood: TrustDetector | None = None
        self.photometric: PhotometricDetector | None = None
        if calibrated:
            self.ood = self._load_fitted(OOD_FILE, load_detector, "no not-a-lesion check")
            self.photometric = self._load_fitted(
                PHOTOMETRIC_FILE,
                load_photometric,
                "exposure and colour cast fall back to fixed rules",
            )
        tta = load_tta_calibration(self.model_dir, self.version) if calibrated else None
        self.tta_calibration, self.tta_thresholds = tta or (None, None)
        self.differential_maps: dict[str, DifferentialCalibration] = (
            load_differential(self.model_dir, self.version) if calibrated else {}
        )
        self.created = config.get("created", "")
        self.num_threads = num_threads or os.cpu_count() or 1
        self.max_interpreters = max_interpreters or os.cpu_count() or 1
        self._slots: queue.LifoQueue[_Slot] = queue.LifoQueue()
        self._slots_lock = threading.Lock()
        self.interpreters_created = 0
        #: The learned lesion segmenter beside the model; None: the classical outline is used.
        self.segmenter: LearnedSegmenter | None = (
            load_segmenter(self.model_dir, self.num_threads, self.max_interpreters)
            if calibrated
            else None
        )
        self._head_weights = None
        with self._interpreter():  # fail now, not on the first upload
            pass

    def _load_fitted(self, name: str, loader, what: str):
        """A detector file fitted for this model (``loader(path)``), else None with a log line."""
        path = self.model_dir / name
        if not path.is_file():
            return None
        try:
            detector = loader(path)
        except ModelLoadError as err:  # optional file: an unreadable one is logged, not fatal
            logger.warning("%s: %s", err, what)
            return None
        if detector.model_version != self.version:
            logger.warning(
                "%s was fitted for model %s, not %s: %s. Rerun "
                "`python -m skinapp.evaluate --trust`.",
                path,
                detector.model_version,
                self.version,
                what,
            )
            return None
        return detector

    # === Interpreter pool ===
    @contextmanager
    def _interpreter(self) -> Iterator[_Slot]:
        """Lend one interpreter: a free one, a new one while fewer than ``max_interpreters``
        exist, else the next one given back."""
        try:
            slot = self._slots.get_nowait()
        except queue.Empty:
            with self._slots_lock:
                create = self.interpreters_created < self.max_interpreters
                self.interpreters_created += int(create)
            if create:
                try:
                    slot = self._new_slot()
                except BaseException:
                    with self._slots_lock:
                        self.interpreters_created -= 1
                    raise
            else:
                slot = self._slots.get()
        try:
            yield slot
        finally:
            self._slots.put(slot)

    def _new_slot(self) -> _Slot:
        from ai_edge_litert.interpreter import Interpreter

        try:
            interp = Interpreter(model_content=self._model_bytes, num_threads=self.num_threads)
        except ValueError as err:
            raise ModelLoadError(f"Cannot load {self.model_dir / MODEL_FILE}: {err}") from err
        interp.allocate_tensors()
        details = interp.get_output_details()
        outputs = {("logits" if len(d["shape"]) == 2 else "features"): d["index"] for d in details}
        return _Slot(interp, 1, outputs)

    def run(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raw network outputs for prepared inputs.

        Parameters
        ----------
        batch : (N, S, S, 3) uint8 ndarray
            Images already passed through :func:`prepare_model_input`.

        Returns
        -------
        logits : (N, C) float32
        features : (N, h, w, F) float32
        """
        logits, features = [], []
        with self._interpreter() as slot:
            interp = slot.interpreter
            index = interp.get_input_details()[0]["index"]
            for start in range(0, len(batch), INVOKE_BATCH):
                chunk = batch[start : start + INVOKE_BATCH]
                if slot.batch != len(chunk):
                    interp.resize_tensor_input(index, [len(chunk), *batch.shape[1:]])
                    interp.allocate_tensors()
                    slot.batch = len(chunk)
                interp.set_tensor(index, np.ascontiguousarray(chunk, dtype=np.float32))
                interp.invoke()
                outs = slot.outputs
                logits.append(interp.get_tensor(outs["logits"]).copy())
                features.append(interp.get_tensor(outs["features"]).copy())
        return np.concatenate(logits), np.concatenate(features)

    # === Scores ===
    def log_odds(self, logits: np.ndarray) -> np.ndarray:
        """``(N,)`` uncalibrated malignant log-odds."""
        return malignant_log_odds(logits, self.malignant_mask)

    def probability(self, log_odds: np.ndarray) -> np.ndarray:
        """Calibrated malignancy probability for log-odds (vectorised)."""
        return np.asarray(self.calibration.apply(np.asarray(log_odds, np.float64)))

    def grade(self, p: np.ndarray):
        """Risk grade(s) 1–3 for calibrated probabilities."""
        return assign_grade(p, self.thresholds)

    def label(self, p: float) -> str:
        return "malignant" if p >= self.thresholds.operating else "benign"

    def assess(self, features: np.ndarray) -> list | None:
        """The trust detector's :class:`~skinapp.trust.detector.Assessment` per row of ``run``'s
        (or pooled) features, or None without a detector."""
        return None if self.ood is None else self.ood.assess(features)

    # === Public API ===
    def predict(self, image: np.ndarray, *, tta: bool = False) -> Prediction:
        """Classify one RGB photo of any size; includes the heat map.

        With ``tta=True`` the eight flips/quarter turns go through the network in one batch:
        ``p_malignant`` is then their mean log-odds under the TTA calibration, with the
        per-view interval in ``p_low``/``p_high`` (without a TTA calibration for this model
        the single-view answer is kept and only the interval is added). The heat map and
        the OOD score come from the unrotated view.
        """
        x = prepare_model_input(image, self.input_spec)
        logits, features = self.run(tta_views(x) if tta else x[None])
        if tta:
            return self._tta_prediction(logits, features)
        pooled = pool_features(features)
        return self._prediction(logits[0], features[0], _item(self.assess(pooled), 0), pooled[0])

    def predict_batch(
        self, images: list[np.ndarray], with_heatmap: bool = False, *, tta: bool = False
    ):
        """Classify several photos in one call; returns a list of :class:`Prediction`.

        ``tta=True`` gives each photo the same answer as ``predict(image, tta=True)`` (the app's
        answer): all photos' eight views go through the network in one batch.
        """
        if not images:
            return []
        batch = np.stack([prepare_model_input(im, self.input_spec) for im in images])
        if tta:
            logits, features = self.run(np.concatenate([tta_views(x) for x in batch]))
            n = len(logits) // len(images)
            return [
                self._tta_prediction(
                    logits[i * n : (i + 1) * n], features[i * n : (i + 1) * n], with_heatmap
                )
                for i in range(len(images))
            ]
        logits, features = self.run(batch)
        pooled = pool_features(features)
        scores = self.assess(pooled)
        return [
            self._prediction(
                logits[i], features[i] if with_heatmap else None, _item(scores, i), pooled[i]
            )
            for i in range(len(images))
        ]

    def _prediction(
        self,
        logits: np.ndarray,
        features: np.ndarray | None,
        assessment=None,
        pooled: np.ndarray | None = None,
    ) -> Prediction:
        odds = float(self.log_odds(logits[None])[0])
        p = float(self.probability(np.array([odds]))[0])
        probs = _softmax(logits)
        heatmap = None if features is None else self.heatmap(features, probs)
        ood = {} if assessment is None else dataclasses.asdict(assessment)
        grade = int(self.grade(p))
        return Prediction(
            p_malignant=p,
            log_odds=odds,
            label=self.label(p),
            grade=grade,
            class_probs={c: float(v) for c, v in zip(self.classes, probs, strict=True)},
            heatmap=heatmap,
            features=pooled,
            differential=self._differential("single_view", logits[None], p, grade),
            **ood,
        )

    def _differential(
        self, answer: str, logits: np.ndarray, p: float, grade: int
    ) -> Differential | None:
        """The differential of an answer from its ``(V, C)`` view logits (mean log-softmax)."""
        dmap = self.differential_maps.get(answer)
        if dmap is None:
            return None
        return dmap.differential(log_softmax(logits).mean(axis=0), p, grade)

    def _tta_prediction(
        self, logits: np.ndarray, features: np.ndarray, with_heatmap: bool = True
    ) -> Prediction:
        """One answer from the ``(V, C)`` logits and features of the TTA views."""
        pooled = pool_features(features[:1])  # the unrotated view
        single = self._prediction(
            logits[0],
            features[0] if with_heatmap else None,
            _item(self.assess(pooled), 0),
            pooled[0],
        )
        odds = self.log_odds(logits)
        calibration = self.tta_calibration or self.calibration
        thresholds = self.tta_thresholds or self.thresholds
        p_views = np.asarray(calibration.apply(odds.astype(np.float64)))
        interval = spread(p_views, (thresholds.t1, thresholds.t2))
        fields = {"p_low": interval.low, "p_high": interval.high, "unstable": interval.unstable}
        if self.tta_calibration is None:  # no refitted map: keep the validated answer
            return dataclasses.replace(single, **fields)
        mean_odds = float(odds.mean())
        p = float(np.asarray(self.tta_calibration.apply(np.array([mean_odds])))[0])
        probs = np.mean([_softmax(lg) for lg in logits], axis=0)
        grade = int(assign_grade(p, thresholds))
        return dataclasses.replace(
            single,
            p_malignant=p,
            log_odds=mean_odds,
            label="malignant" if p >= thresholds.operating else "benign",
            grade=grade,
            class_probs={c: float(v) for c, v in zip(self.classes, probs, strict=True)},
            n_views=interval.n_views,
            differential=self._differential("tta", logits, p, grade),
            **fields,
        )

    def heatmap(self, features: np.ndarray, probs: np.ndarray) -> np.ndarray:
        """Grad-CAM of the malignant log-odds on the last feature map, in [0, 1]."""
        direction = malignant_direction(probs, self.head_weights(), self.malignant_mask)
        cam = np.maximum(features @ direction, 0.0)
        top = cam.max()
        return (cam / top if top > 0 else cam).astype(np.float32)

    def head_weights(self) -> np.ndarray:
        """Dense kernel ``(F, C)`` read from ``head.npz`` (saved at export)."""
        if self._head_weights is None:
            path = self.model_dir / "head.npz"
            if not path.is_file():
                raise ModelLoadError(
                    f"{path} missing: re-export with `python -m skinapp.evaluate`."
                )
            self._head_weights = np.load(path)["kernel"]
        return self._head_weights


def _item(values, i: int):
    return None if values is None else values[i]


def _softmax(logits: np.ndarray) -> np.ndarray:
    probs = np.exp(logits - logits.max())
    return probs / probs.sum()


_CACHE: dict[Path, Classifier] = {}
_CACHE_LOCK = threading.Lock()


def load_classifier(model_dir: str | Path | None = None) -> Classifier:
    """A process-wide shared :class:`Classifier` per model directory (thread-safe)."""
    key = Path(model_dir) if model_dir else default_model_dir()
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = Classifier(key)
        return _CACHE[key]


__all__ = ["Calibration", "Classifier", "GradeThresholds", "Prediction", "load_classifier"]
