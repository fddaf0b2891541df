"""One photo in, everything the Diagnose page and the Lab show out.

:func:`analyze` is the single orchestration function the pages call. For one RGB photo it

1. shrinks it so that its long side is at most ``settings.max_side`` (1024 px by default;
   every later step then runs on this *working image*);
2. runs the preprocessing :class:`~skinapp.preprocess.Pipeline` (colour constancy, optional
   denoising and contrast, hair removal, resize) and keeps every intermediate image;
3. segments the lesion on the preprocessed (hair-removed) image and computes the ABCD
   descriptors from the mask;
4. classifies it. By default the model gets the **original** photo, prepared exactly as in
   validation (:func:`skinapp.model.preprocessing.prepare_model_input`), so that the measured
   sensitivity and specificity apply. With ``classify_preprocessed=True`` it gets the Lab's
   pipeline output instead, and :attr:`Analysis.notes` says that the validated figures no
   longer apply;
5. draws the contour and the heat-map overlays, and records the time of each stage in ms.

The stages run one after the other on the calling thread, so one analysis keeps one core
busy (the classifier's interpreter uses its own ``num_threads``) and the stage times add up
to ``total``. Concurrent analyses are bounded by :mod:`skinapp.pool`: running the classifier
in a side thread would make one analysis faster alone but fight the pool's other analyses
for the same cores.

Trust (:mod:`skinapp.trust`): the image-quality checks run on the working image and the
lesion mask (:attr:`Analysis.quality`); the classifier runs with test-time augmentation
(:data:`USE_TTA`: the eight flips/quarter turns in one batch), which gives the probability
interval and, when ``models/ood.npz`` is present, the out-of-distribution flag.

Everything is pure: no Streamlit, nothing written to disk, the input is never modified.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from skinapp.heatmap import colormap_rgb
from skinapp.io import check_image, downscale_max_side, read_image
from skinapp.model.preprocessing import at_model_scale
from skinapp.params import from_dict
from skinapp.preprocess import Pipeline, PipelineParams
from skinapp.trust.decision import decide
from skinapp.trust.quality import QualityReport, check_quality
from skinapp.vision.descriptors import Descriptors, describe_lesion
from skinapp.vision.learned import FALLBACK_NOTE, UNCERTAIN_NOTE, outline_lesion
from skinapp.vision.segment import Segmentation, SegmentParams

if TYPE_CHECKING:
    from skinapp.serving import Classifier, Prediction
    from skinapp.vision.learned import LearnedSegmenter

logger = logging.getLogger(__name__)

__all__ = [
    "CONTOUR_COLOR",
    "HAIR_COLOR",
    "OOD_NOTE",
    "STEP_LABELS",
    "UNUSUAL_NOTE",
    "USE_TTA",
    "WORK_MAX_SIDE",
    "Analysis",
    "AnalysisSettings",
    "analyze",
    "analyze_bytes",
    "compare_outlines",
    "draw_contour",
    "overlay_heatmap",
    "overlay_mask",
]

#: Default long side (px) of the working image: larger photos are shrunk first.
WORK_MAX_SIDE = 1024
#: RGB colour of the lesion contour (a green that stands out on skin and pigment).
CONTOUR_COLOR = (0, 230, 118)
#: RGB colour of the hair mask overlay.
HAIR_COLOR = (255, 0, 200)
#: Note added when the model's features say the photo is out of distribution.
OOD_NOTE = (
    "This does not look like a dermoscopic image of a skin lesion: the model's result and "
    "risk grade for it are not meaningful."
)
#: Note added for a lesion unlike the training photos (the grade stays, with this caution).
UNUSUAL_NOTE = (
    "Unusual lesion: unlike the photos the model was trained on. The grade is given with a "
    "wider uncertainty range; rely on it less."
)
#: Classify with test-time augmentation (8 views in one batch, tens of ms). The reported
#: probability is the TTA mean only where ``models/trust.json`` measured a gain for this
#: model (its ``tta`` block: test ROC AUC and Brier, single view vs TTA); otherwise the
#: single-view answer is kept and TTA only adds the interval (see ``Classifier.predict``).
USE_TTA = True


# === Settings ===


@dataclass(frozen=True)
class AnalysisSettings:
    """What the user may change about an analysis (the Lab's settings plus the scale).

    Attributes
    ----------
    pipeline : PipelineParams
        Preprocessing steps (colour constancy, denoise, contrast, hair removal, resize).
    segment : SegmentParams
        Lesion segmentation parameters.
    classify_preprocessed : bool
        Give the classifier the pipeline output instead of the original photo. The model
        was validated on the original photo, so its measured performance does not apply.
    compare_inputs : bool
        Also classify the input that ``classify_preprocessed`` did not choose, so that the
        Lab can show the effect of preprocessing on the probability (one extra inference).
    mm_per_pixel : float or None
        Scale of the *uploaded* photo, for the diameter in millimetres.
    max_side : int
        Long side of the working image in pixels (>= 64).
    """

    pipeline: PipelineParams = field(default_factory=PipelineParams)
    segment: SegmentParams = field(default_factory=SegmentParams)
    classify_preprocessed: bool = False
    compare_inputs: bool = False
    mm_per_pixel: float | None = None
    max_side: int = WORK_MAX_SIDE

    def __post_init__(self) -> None:
        if not isinstance(self.pipeline, PipelineParams):
            raise ValueError(
                f"`pipeline` must be a PipelineParams. Received: `pipeline={self.pipeline!r}`"
            )
        if not isinstance(self.segment, SegmentParams):
            raise ValueError(
                f"`segment` must be a SegmentParams. Received: `segment={self.segment!r}`"
            )
        for name in ("classify_preprocessed", "compare_inputs"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(
                    f"`{name}` must be True or False. Received: `{name}={getattr(self, name)!r}`"
                )
        mm = self.mm_per_pixel
        if mm is not None and (
            isinstance(mm, bool) or not isinstance(mm, (int, float)) or not 0 < mm < 10
        ):
            raise ValueError(
                "`mm_per_pixel` must be a number of millimetres per pixel in (0, 10), or None. "
                f"Received: `mm_per_pixel={mm!r}`"
            )
        if isinstance(self.max_side, bool) or not isinstance(self.max_side, int):
            raise ValueError(
                f"`max_side` must be an integer. Received: `max_side={self.max_side!r}`"
            )
        if self.max_side < 64:
            raise ValueError(f"`max_side` must be >= 64. Received: `max_side={self.max_side}`")

    # --- comparison with the validated defaults ---

    def changed_parameters(self) -> tuple[str, ...]:
        """Dotted names of the Lab parameters that differ from their defaults.

        Examples
        --------
        >>> from skinapp.vision.hair import HairRemovalParams
        >>> pipe = PipelineParams(hair_removal=HairRemovalParams(threshold=40))
        >>> AnalysisSettings(pipeline=pipe).changed_parameters()
        ('pipeline.hair_removal.threshold',)
        """
        changed = _diff(self.pipeline, PipelineParams(), "pipeline")
        changed += _diff(self.segment, SegmentParams(), "segment")
        if self.classify_preprocessed:
            changed.append("classify_preprocessed")
        return tuple(changed)

    def differs_from_validated_defaults(self) -> bool:
        """True when any Lab setting differs from the defaults the app was validated with
        (the classifier on the original photo, default preprocessing and segmentation)."""
        return bool(self.changed_parameters())

    # --- export / import (the Lab's JSON file) ---

    def to_dict(self) -> dict[str, Any]:
        """The Lab settings as plain JSON (``mm_per_pixel`` is per photo and left out)."""
        return {
            "pipeline": self.pipeline.to_dict(),
            "segment": dataclasses.asdict(self.segment),
            "classify_preprocessed": self.classify_preprocessed,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], **overrides: Any) -> AnalysisSettings:
        """Inverse of :meth:`to_dict`; missing entries take their defaults, unknown keys are
        ignored, ``overrides`` (e.g. ``mm_per_pixel``) are set as given.

        Raises
        ------
        ValueError
            ``data`` is not a mapping, or a value is of the wrong type or out of range.
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"Settings must be a JSON object. Received: {type(data).__name__}")
        segment = data.get("segment", {})
        if not isinstance(segment, Mapping):
            raise ValueError(
                f"Settings for 'segment' must be a mapping of parameters. Received: `{segment!r}`"
            )
        try:
            kwargs: dict[str, Any] = {
                "pipeline": PipelineParams.from_dict(data.get("pipeline", {})),
                "segment": from_dict(SegmentParams, dict(segment)),
            }
        except TypeError as err:  # e.g. a parameter given as a list
            raise ValueError(f"Settings contain a value of the wrong type: {err}") from err
        if "classify_preprocessed" in data:
            kwargs["classify_preprocessed"] = data["classify_preprocessed"]
        kwargs.update(overrides)
        return cls(**kwargs)

    def to_json(self) -> str:
        """:meth:`to_dict` as indented JSON text."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes, **overrides: Any) -> AnalysisSettings:
        """Parse a settings file written by :meth:`to_json`.

        Raises
        ------
        ValueError
            The text is not JSON, or :meth:`from_dict` rejects it.
        """
        try:
            data = json.loads(text)
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ValueError(f"This settings file is not valid JSON: {err}") from err
        return cls.from_dict(data, **overrides)

    def cache_key(self) -> str:
        """A string that identifies these settings exactly (for result caches)."""
        return json.dumps(
            {
                **self.to_dict(),
                "compare_inputs": self.compare_inputs,
                "mm_per_pixel": self.mm_per_pixel,
                "max_side": self.max_side,
            },
            sort_keys=True,
        )


def _diff(value: Any, default: Any, prefix: str) -> list[str]:
    """Dotted names of the (nested) dataclass fields where ``value`` differs from ``default``."""
    out: list[str] = []
    for f in dataclasses.fields(value):
        a, b = getattr(value, f.name), getattr(default, f.name)
        if dataclasses.is_dataclass(a):
            out += _diff(a, b, f"{prefix}.{f.name}")
        elif a != b:
            out.append(f"{prefix}.{f.name}")
    return out


# === Result ===


@dataclass(frozen=True)
class Analysis:
    """Everything computed for one photo. Images are ``(h, w, 3) uint8`` RGB at the
    working resolution unless stated otherwise; masks are ``(h, w) bool``."""

    #: The settings used.
    settings: AnalysisSettings
    #: ``(H, W)`` of the photo as decoded, before any shrinking.
    original_size: tuple[int, int]
    #: The working image: the photo with its long side shrunk to ``settings.max_side``.
    image: np.ndarray
    #: Every pipeline image in order (``"input"``, then each step that ran; the last one,
    #: ``"resize"``, is at the model's input size and made only when the model is given the
    #: pipeline output: ``classify_preprocessed`` or ``compare_inputs``, as in the Lab).
    steps: dict[str, np.ndarray]
    #: The pipeline output before the final resize (hair removed), at working resolution.
    preprocessed: np.ndarray
    #: Pixels detected as hair (all False when hair removal is off).
    hair_mask: np.ndarray
    #: Lesion segmentation of :attr:`preprocessed`.
    segmentation: Segmentation
    #: ABCD descriptors of the lesion; None when no lesion was found.
    descriptors: Descriptors | None
    #: The reported result (of the original photo unless ``classify_preprocessed``).
    prediction: Prediction
    #: The classifier on the original photo, with the validated preparation.
    validated_prediction: Prediction
    #: The classifier on the pipeline output (when asked for; else None).
    preprocessed_prediction: Prediction | None
    #: :attr:`preprocessed` with the lesion contour drawn.
    contour_overlay: np.ndarray
    #: The heat map of :attr:`prediction` blended over the image the model saw.
    heatmap_overlay: np.ndarray
    #: Millimetres per pixel of the working image (None without a scale).
    mm_per_pixel: float | None
    #: Milliseconds per stage (``decode`` only from :func:`analyze_bytes`) and ``total``.
    timings_ms: dict[str, float]
    #: Short sentences for the user (shrunk photo, lesion at the border, changed settings).
    notes: tuple[str, ...] = ()
    #: Image-quality checks of the working image (None only for analyses made without).
    quality: QualityReport | None = None

    @property
    def model_input(self) -> str:
        """``"original"`` or ``"preprocessed"``: what the reported prediction was made on."""
        return "preprocessed" if self.settings.classify_preprocessed else "original"

    @property
    def hair_fraction(self) -> float:
        """Share of the working image's pixels marked as hair, in [0, 1]."""
        return float(self.hair_mask.mean()) if self.hair_mask.size else 0.0

    @property
    def hair_overlay(self) -> np.ndarray:
        """:attr:`image` with the detected hair pixels tinted."""
        return overlay_mask(self.image, self.hair_mask, HAIR_COLOR)


# === Orchestration ===


def analyze_bytes(data: bytes, settings: AnalysisSettings, classifier: Classifier) -> Analysis:
    """Decode an uploaded file with :func:`skinapp.io.read_image`, then :func:`analyze` it.

    Raises
    ------
    ImageReadError, InvalidImageError
        The file is not a readable image (the message is meant for the user).
    TransformError
        A preprocessing step failed.
    """
    start = time.perf_counter()
    image = read_image(data)
    decode_ms = _ms(start)
    result = analyze(image, settings, classifier)
    timings = {"decode": decode_ms, **result.timings_ms}
    timings["total"] = result.timings_ms["total"] + decode_ms
    return dataclasses.replace(result, timings_ms=timings)


def analyze(image: np.ndarray, settings: AnalysisSettings, classifier: Classifier) -> Analysis:
    """Preprocess, segment, describe and classify one photo.

    Parameters
    ----------
    image : (H, W, 3) ndarray of uint8
        RGB photo of any size; not modified.
    settings : AnalysisSettings
        Lab settings, scale and working size.
    classifier : skinapp.serving.Classifier
        The loaded model (thread-safe; shared between sessions).

    Returns
    -------
    Analysis

    Raises
    ------
    InvalidImageError
        ``image`` is not ``(H, W, 3) uint8``.
    TransformError
        A preprocessing step failed (the error names it).

    Examples
    --------
    >>> from skinapp.serving import load_classifier
    >>> result = analyze(photo, AnalysisSettings(), load_classifier())  # doctest: +SKIP
    >>> result.prediction.grade, result.timings_ms["total"]  # doctest: +SKIP
    (2, 310.5)
    """
    check_image(image)
    timings: dict[str, float] = {}
    start = t0 = time.perf_counter()

    work = downscale_max_side(image, settings.max_side)
    # The one shrink to the dataset's scale, shared by the classifier, the segmenter and the
    # photo-level quality checks (each would otherwise shrink the working image again).
    small = at_model_scale(work)
    timings["downscale"] = _ms(t0)

    t0 = time.perf_counter()
    piped = Pipeline(_pipeline_to_run(settings)).run(work)
    before_resize = [name for name in piped.steps if name != "resize"]
    preprocessed = piped.steps[before_resize[-1]]
    hair_mask = _fit_mask(piped.hair_mask, work.shape[:2])
    timings["preprocess"] = _ms(t0)

    t0 = time.perf_counter()
    segmenter = getattr(classifier, "segmenter", None)
    segmentation = outline_lesion(
        work, settings.segment, segmenter, preprocessed=preprocessed, small=small
    )
    timings["segment"] = _ms(t0)

    t0 = time.perf_counter()
    scale = max(image.shape[:2]) / max(work.shape[:2])
    mm_per_pixel = None if settings.mm_per_pixel is None else settings.mm_per_pixel * scale
    descriptors = (
        describe_lesion(preprocessed, segmentation.mask, mm_per_pixel=mm_per_pixel)
        if segmentation.found
        else None
    )
    timings["describe"] = _ms(t0)

    t0 = time.perf_counter()
    validated = classifier.predict(small, tta=USE_TTA)
    on_pipeline = None
    if settings.classify_preprocessed or settings.compare_inputs:
        on_pipeline = classifier.predict(piped.image, tta=USE_TTA)
    prediction = on_pipeline if settings.classify_preprocessed else validated
    timings["classify"] = _ms(t0)

    t0 = time.perf_counter()
    contour_overlay = (
        draw_contour(preprocessed, segmentation.contour)
        if segmentation.found
        else preprocessed.copy()
    )
    seen = _image_the_model_saw(settings, work, preprocessed, piped.image)
    heatmap_overlay = (
        overlay_heatmap(seen, prediction.heatmap) if prediction.heatmap is not None else seen.copy()
    )
    timings["overlays"] = _ms(t0)

    t0 = time.perf_counter()
    quality = check_quality(
        small,
        segmentation.mask if segmentation.found else None,
        detector=classifier.photometric,
        features=validated.features,
    )
    timings["quality"] = _ms(t0)
    timings["total"] = _ms(start)

    notes = _notes(settings, image.shape[:2], work.shape[:2], segmentation)
    decision = decide(prediction)  # the one rule every page, report and CLI follows
    if decision.not_a_lesion:
        notes = (OOD_NOTE, *notes)
    elif decision.unusual:  # also reaches the HTML report, which shows the notes
        notes = (UNUSUAL_NOTE, *notes)
    logger.info(
        "Analysed %s image (working %s) in %.0f ms: p=%.3f grade %d",
        image.shape[:2],
        work.shape[:2],
        timings["total"],
        prediction.p_malignant,
        prediction.grade,
    )
    return Analysis(
        settings=settings,
        original_size=(int(image.shape[0]), int(image.shape[1])),
        image=work,
        steps=dict(piped.steps),
        preprocessed=preprocessed,
        hair_mask=hair_mask,
        segmentation=segmentation,
        descriptors=descriptors,
        prediction=prediction,
        validated_prediction=validated,
        preprocessed_prediction=on_pipeline,
        contour_overlay=contour_overlay,
        heatmap_overlay=heatmap_overlay,
        mm_per_pixel=mm_per_pixel,
        timings_ms={k: round(v, 1) for k, v in timings.items()},
        notes=notes,
        quality=quality,
    )


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


def _pipeline_to_run(settings: AnalysisSettings) -> PipelineParams:
    """The Lab's pipeline, without its last step (squaring the image for the model) when the
    model is not given the pipeline output: then nothing reads that image (Diagnose)."""
    params = settings.pipeline
    if settings.classify_preprocessed or settings.compare_inputs:
        return params
    return dataclasses.replace(params, resize=dataclasses.replace(params.resize, mode="none"))


def _fit_mask(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The pipeline's hair mask at ``shape`` (it is already there unless a step resized)."""
    mask = np.asarray(mask, dtype=bool)
    if mask.shape == tuple(shape):
        return mask
    resized = cv2.resize(
        mask.astype(np.uint8), (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST
    )
    return resized.astype(bool)


def _image_the_model_saw(
    settings: AnalysisSettings, work: np.ndarray, preprocessed: np.ndarray, model_input: np.ndarray
) -> np.ndarray:
    """The image to lay the heat map on, in the model's geometry.

    The model stretches its input to a square, so a heat map maps back onto any image of
    the same framing: the original, or the pipeline output when its resize stretches too.
    """
    if not settings.classify_preprocessed:
        return work
    if settings.pipeline.resize.mode in ("stretch", "none"):
        return preprocessed
    return model_input  # padded or cropped: only the model input has the right framing


def _notes(
    settings: AnalysisSettings,
    original: tuple[int, ...],
    work: tuple[int, ...],
    segmentation: Segmentation,
) -> tuple[str, ...]:
    notes: list[str] = []
    if settings.classify_preprocessed:
        notes.append(
            "The model was given the Lab-preprocessed image. Its measured sensitivity and "
            "specificity were validated on original photos and may not apply."
        )
    changed = [name for name in settings.changed_parameters() if name != "classify_preprocessed"]
    if changed:
        notes.append(
            "Preprocessing or segmentation settings differ from the validated defaults: "
            + ", ".join(name.split(".", 1)[1] for name in changed)
            + "."
        )
    if not segmentation.found:
        notes.append(
            segmentation.message
            or "No lesion was found: the ABCD descriptors are not available for this photo."
        )
    elif segmentation.touches_border:
        notes.append(
            segmentation.message
            or "The lesion touches the image border: size and asymmetry may be underestimated."
        )
    if segmentation.method != settings.segment.method:
        notes.append(FALLBACK_NOTE)
    if segmentation.found and segmentation.uncertain:
        notes.append(UNCERTAIN_NOTE.format(confidence=segmentation.confidence))
    if tuple(original) != tuple(work):
        notes.append(
            f"The photo ({original[1]} × {original[0]} px) was analysed at "
            f"{work[1]} × {work[0]} px."
        )
    return tuple(notes)


# === Overlays ===


def overlay_heatmap(
    image: np.ndarray,
    heatmap: np.ndarray,
    *,
    alpha: float = 0.6,
    colormap: int = cv2.COLORMAP_JET,
) -> np.ndarray:
    """Colour the regions of an image where a coarse heat map is high.

    Each pixel is blended with its colormap colour in proportion to the heat there
    (``weight = alpha * heat``), so that cold regions keep the original image and the
    lesion stays visible under the evidence.

    Parameters
    ----------
    image : (H, W, 3) ndarray of uint8
        RGB image; not modified.
    heatmap : (h, w) ndarray of float
        Values in [0, 1] (clipped; NaN counts as 0), e.g. the model's 7×7 map; upsampled
        bicubically to ``(H, W)``.
    alpha : float
        Weight of the colour where the heat is 1, in [0, 1].
    colormap : int
        An OpenCV colormap (``cv2.COLORMAP_*``); JET shows high values in red.

    Returns
    -------
    (H, W, 3) ndarray of uint8
        RGB blend.

    Raises
    ------
    InvalidImageError
        ``image`` is not ``(H, W, 3) uint8``.
    ValueError
        ``heatmap`` is not a non-empty 2-D array, or ``alpha`` is outside [0, 1].

    Examples
    --------
    >>> overlay_heatmap(np.zeros((40, 60, 3), np.uint8), np.eye(7)).shape
    (40, 60, 3)
    """
    check_image(image)
    heat = np.asarray(heatmap, dtype=np.float32)
    if heat.ndim != 2 or heat.size == 0:
        raise ValueError(f"`heatmap` must be a non-empty 2-D array. Received: shape {heat.shape}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"`alpha` must be in [0, 1]. Received: `alpha={alpha}`")
    height, width = image.shape[:2]
    heat = np.nan_to_num(heat, nan=0.0)
    # The map is smooth: colour it on a grid of at most 256 px, then enlarge the colours.
    step = max(1, max(height, width) // 256)
    small = (max(1, width // step), max(1, height // step))
    up = np.clip(cv2.resize(heat, small, interpolation=cv2.INTER_CUBIC), 0.0, 1.0)
    levels = (up * 255.0 + 0.5).astype(np.uint8)
    coloured = colormap_rgb(colormap)[levels]
    weight = (alpha * up).astype(np.float32)
    if small != (width, height):
        coloured = cv2.resize(coloured, (width, height), interpolation=cv2.INTER_LINEAR)
        weight = cv2.resize(weight, (width, height), interpolation=cv2.INTER_LINEAR)
    return cv2.blendLinear(np.ascontiguousarray(image), coloured, 1.0 - weight, weight)


def draw_contour(
    image: np.ndarray,
    contour: np.ndarray | Sequence[np.ndarray],
    *,
    color: tuple[int, int, int] = CONTOUR_COLOR,
    thickness: int | None = None,
) -> np.ndarray:
    """Draw a lesion outline on a copy of an image.

    Parameters
    ----------
    image : (H, W, 3) ndarray of uint8
        RGB image; not modified.
    contour : (N, 1, 2) or (N, 2) int ndarray, or a sequence of them
        Outline point(s) as ``(x, y)`` pixel coordinates (OpenCV's layout); empty draws
        nothing.
    color : (r, g, b)
        Line colour.
    thickness : int, optional
        Line width in pixels; by default about 1/300 of the long side (at least 1).

    Returns
    -------
    (H, W, 3) ndarray of uint8

    Examples
    --------
    >>> square = np.array([[10, 10], [30, 10], [30, 30], [10, 30]])
    >>> draw_contour(np.zeros((40, 40, 3), np.uint8), square)[10, 20].tolist()
    [0, 230, 118]
    """
    check_image(image)
    parts = [contour] if isinstance(contour, np.ndarray) else list(contour)
    points = [np.asarray(p, dtype=np.int32).reshape(-1, 1, 2) for p in parts]
    points = [p for p in points if len(p)]
    out = np.ascontiguousarray(image).copy()
    if not points:
        return out
    if thickness is None:
        thickness = max(1, round(max(image.shape[:2]) / 300))
    line = cv2.LINE_AA if thickness > 1 else cv2.LINE_8  # a 1-px anti-aliased line is faint
    cv2.drawContours(out, points, -1, tuple(int(c) for c in color), thickness, line)
    return out


def overlay_mask(
    image: np.ndarray,
    mask: np.ndarray,
    color: tuple[int, int, int] = HAIR_COLOR,
    *,
    alpha: float = 0.7,
) -> np.ndarray:
    """Tint the pixels of ``mask`` on a copy of ``image``.

    Parameters
    ----------
    image : (H, W, 3) ndarray of uint8
    mask : (H, W) ndarray of bool
    color : (r, g, b)
    alpha : float
        Weight of the tint on masked pixels, in [0, 1].

    Returns
    -------
    (H, W, 3) ndarray of uint8
    """
    check_image(image)
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != image.shape[:2]:
        raise ValueError(
            f"`mask` must have the image's height and width {image.shape[:2]}. "
            f"Received: shape {mask.shape}"
        )
    out = image.copy()
    tint = np.asarray(color, dtype=np.float32)
    out[mask] = np.clip((1 - alpha) * image[mask] + alpha * tint + 0.5, 0, 255).astype(np.uint8)
    return out


#: RGB colour of the other method's outline in :func:`compare_outlines` (magenta).
OTHER_CONTOUR_COLOR = (255, 64, 255)


def compare_outlines(
    analysis: Analysis, segmenter: LearnedSegmenter | None
) -> tuple[np.ndarray, Segmentation, float] | None:
    """The Lab's comparison: the other method's outline next to the one the analysis used.

    Returns the preprocessed image with both outlines (the analysis' in green, the other in
    magenta), the other :class:`Segmentation` and the Jaccard index of the two masks; None
    without an installed learned segmenter (nothing to compare).
    """
    if segmenter is None:
        return None
    other_method = "classical" if analysis.segmentation.method == "learned" else "learned"
    params = dataclasses.replace(analysis.settings.segment, method=other_method)
    other = outline_lesion(analysis.image, params, segmenter, preprocessed=analysis.preprocessed)
    overlay = analysis.contour_overlay
    if other.found:
        overlay = draw_contour(overlay, other.contour, color=OTHER_CONTOUR_COLOR)
    a, b = analysis.segmentation.mask, other.mask
    union = np.count_nonzero(a | b)
    agreement = 1.0 if union == 0 else np.count_nonzero(a & b) / union
    return overlay, other, float(agreement)


#: Display names of the pipeline steps, in order (for captions).
STEP_LABELS: dict[str, str] = {
    "input": "Original",
    "color_constancy": "Colour constancy",
    "denoise": "Denoised",
    "contrast": "Contrast enhanced",
    "hair_removal": "Hair removed",
    "resize": "Model input size",
}
