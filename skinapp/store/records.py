"""What the case store keeps about a visit, and how an :class:`~skinapp.analysis.Analysis`
becomes one.

A visit holds the patient's **pseudonym** (no name is asked for), the lesion id, the body
site, the visit date, the result (calibrated probability, grade, label, model version), the
ABCD descriptors, the Lab settings used, the lesion outline and the analysed photo, re-encoded
from its pixels as a JPEG (no EXIF, GPS, colour profile or file name survives).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from skinapp.io import encode_jpeg
from skinapp.model.differential import Differential, plain_name
from skinapp.model.verdict import answer_label
from skinapp.store.errors import CaseInputError
from skinapp.trust.decision import decide

if TYPE_CHECKING:
    from skinapp.analysis import Analysis

__all__ = [
    "BODY_SITES",
    "IMAGE_MEDIA_TYPE",
    "IMAGE_QUALITY",
    "NOTES_MAX_CHARS",
    "NewVisit",
    "Visit",
    "check_lesion_id",
    "check_notes",
    "check_pseudonym",
    "differential_record",
    "new_visit",
    "simplify_contour",
    "visit_differential",
    "visit_differential_text",
    "visit_from_row",
]

#: Stored photos are JPEG at this quality (see the README's "Case history" for the sizes
#: measured against PNG): about a tenth of a lossless PNG, and visually the same at the
#: working resolution (long side <= 1024 px).
IMAGE_QUALITY = 90
IMAGE_MEDIA_TYPE = "image/jpeg"

#: Body sites offered in the form (the localisation vocabulary of the ISIC/HAM metadata).
BODY_SITES = (
    "abdomen",
    "back",
    "chest",
    "face",
    "scalp",
    "neck",
    "ear",
    "upper extremity",
    "lower extremity",
    "hand",
    "foot",
    "acral",
    "genital",
    "trunk",
    "other",
)

#: Longest clinician's note kept with a visit.
NOTES_MAX_CHARS = 2000

_PSEUDONYM = re.compile(r"^[\w][\w .\-/#]{0,63}$")
_LESION = re.compile(r"^[\w][\w .\-/#]{0,31}$")
#: Outline points are simplified to this tolerance (pixels) before storing.
_CONTOUR_TOLERANCE_PX = 1.0


def check_pseudonym(value: Any) -> str:
    """The pseudonym stripped of outer spaces.

    Raises
    ------
    CaseInputError
        Empty, longer than 64 characters, or with characters other than letters, digits,
        space and ``. - _ / #``.
    """
    return _identifier(
        value,
        _PSEUDONYM,
        "pseudonym",
        "Enter a patient pseudonym of 1-64 letters, digits, spaces or . - _ / # "
        "(a code such as 'P-0042', not a name).",
    )


def check_lesion_id(value: Any) -> str:
    """The lesion id stripped of outer spaces (1-32 letters, digits, space, ``. - _ / #``).

    Raises
    ------
    CaseInputError
    """
    return _identifier(
        value,
        _LESION,
        "lesion_id",
        "Enter a lesion id of 1-32 letters, digits, spaces or . - _ / # (e.g. 'L1' or "
        "'back-left-3').",
    )


def _identifier(value: Any, pattern: re.Pattern, field: str, hint: str) -> str:
    """``value`` stripped of outer spaces if it matches ``pattern``; else CaseInputError."""
    text = str(value or "").strip()
    if not pattern.match(text):
        raise CaseInputError(f"{hint} Received: {text!r}", field=field)
    return text


def check_notes(value: Any) -> str:
    """The visit's free-text notes, stripped of outer spaces.

    Raises
    ------
    CaseInputError
        Longer than :data:`NOTES_MAX_CHARS` characters.
    """
    text = str(value or "").strip()
    if len(text) > NOTES_MAX_CHARS:
        raise CaseInputError(
            f"Notes must be at most {NOTES_MAX_CHARS} characters (received {len(text)}): "
            "shorten them.",
            field="notes",
        )
    return text


def _check_body_site(value: Any) -> str:
    text = str(value or "").strip()
    if len(text) > 40:
        raise CaseInputError(
            f"The body site must be at most 40 characters. Received: {text!r}", field="body_site"
        )
    return text


def _check_date(value: Any, today: dt.date) -> dt.date:
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date):
        raise CaseInputError(
            f"The visit date must be a date. Received: {value!r}", field="visit_date"
        )
    if value > today:
        raise CaseInputError(
            f"The visit date {value.isoformat()} is in the future.", field="visit_date"
        )
    return value


@dataclass(frozen=True)
class NewVisit:
    """A visit about to be saved (validated by :func:`new_visit`)."""

    pseudonym: str
    lesion_id: str
    body_site: str
    visit_date: dt.date
    created_at: dt.datetime
    model_version: str
    p_malignant: float
    grade: int
    label: str
    mm_per_pixel: float | None
    image_size: tuple[int, int]  # (width, height) of the stored image
    descriptors: dict[str, Any] | None
    settings: dict[str, Any]
    contour: list[list[int]]  # [[x, y], ...] in stored-image pixels
    image: bytes  # JPEG, metadata-free
    media_type: str = IMAGE_MEDIA_TYPE
    notes: str = ""
    differential: dict[str, Any] | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.image).hexdigest()


@dataclass(frozen=True)
class Visit:
    """A saved visit, as read back (the image bytes are fetched separately)."""

    id: int
    pseudonym: str
    lesion_id: str
    body_site: str
    visit_date: dt.date
    created_at: dt.datetime
    model_version: str
    p_malignant: float
    grade: int
    label: str
    mm_per_pixel: float | None
    image_size: tuple[int, int]
    descriptors: dict[str, Any] | None
    settings: dict[str, Any]
    contour: list[list[int]] = field(default_factory=list)
    notes: str = ""
    differential: dict[str, Any] | None = None  # see differential_record()

    @property
    def contour_array(self) -> np.ndarray:
        """The outline as an ``(N, 2) int32`` array of ``x, y`` (``(0, 2)`` if none)."""
        return np.asarray(self.contour, dtype=np.int32).reshape(-1, 2)


def new_visit(
    analysis: Analysis,
    *,
    pseudonym: str,
    lesion_id: str,
    body_site: str = "",
    visit_date: dt.date | None = None,
    model_version: str,
    now: dt.datetime | None = None,
    notes: str = "",
) -> NewVisit:
    """Validate the form fields and turn an analysis into a :class:`NewVisit`.

    The stored image is :attr:`Analysis.image` (the working image the outline and the
    descriptors refer to), re-encoded as a metadata-free JPEG.

    Raises
    ------
    CaseInputError
        A field is missing or invalid (``err.field`` names it), or the photo is not a
        dermoscopic lesion image (:func:`skinapp.trust.decision.decide`; ``field="photo"``).
    """
    if decide(analysis.prediction).not_a_lesion:
        raise CaseInputError(
            "This photo is not a dermoscopic image of a skin lesion, so it has no result to "
            "save. Save a visit with a dermoscopic photo of the lesion.",
            field="photo",
        )
    now = now or dt.datetime.now(dt.UTC)
    image = analysis.image
    return NewVisit(
        pseudonym=check_pseudonym(pseudonym),
        lesion_id=check_lesion_id(lesion_id),
        body_site=_check_body_site(body_site),
        visit_date=_check_date(visit_date or now.date(), now.date()),
        created_at=now,
        model_version=str(model_version),
        p_malignant=float(analysis.prediction.p_malignant),
        grade=int(analysis.prediction.grade),
        label=str(analysis.prediction.label),
        mm_per_pixel=analysis.mm_per_pixel,
        image_size=(int(image.shape[1]), int(image.shape[0])),
        descriptors=analysis.descriptors.to_dict() if analysis.descriptors else None,
        settings=analysis.settings.to_dict(),
        contour=simplify_contour(analysis.segmentation.contour),
        image=encode_jpeg(image, quality=IMAGE_QUALITY),
        notes=check_notes(notes),
        differential=differential_record(analysis.prediction),
    )


def differential_record(prediction: Any) -> dict[str, Any] | None:
    """What a visit stores of the differential: the top call, the calibrated probability of
    every diagnosis (rounded) and which answer they describe; None without a differential."""
    diff = getattr(prediction, "differential", None)
    if diff is None:
        return None
    return {
        "top": diff.top,
        "probs": {code: round(float(p), 4) for code, p in diff.probs.items()},
        "malignant": list(diff.malignant),
        "answer": answer_label(getattr(prediction, "n_views", 1)),
    }


def visit_differential(visit: Any) -> Differential | None:
    """The stored differential of a visit as a :class:`Differential` (None if not stored)."""
    record = getattr(visit, "differential", None)
    if not record or not record.get("probs"):
        return None
    return Differential(
        probs={str(c): float(p) for c, p in record["probs"].items()},
        top=str(record.get("top", "")),
        malignant=tuple(record.get("malignant", ())),
    )


def visit_differential_text(visit: Any, k: int = 3) -> str:
    """``"melanocytic nevus (mole) 71% · … "`` for a stored visit ("" if none stored)."""
    diff = visit_differential(visit)
    if diff is None:
        return ""
    return " · ".join(
        f"{plain_name(code)} {p:.0%}" + (" (top call)" if code == diff.top else "")
        for code, p in diff.ranked(k)
    )


def simplify_contour(contour: np.ndarray | Sequence) -> list[list[int]]:
    """An ``(N, 2)`` outline as a short JSON-ready list (Douglas-Peucker, 1-px tolerance)."""
    points = np.asarray(contour, dtype=np.int32).reshape(-1, 1, 2)
    if len(points) < 3:
        return points.reshape(-1, 2).tolist()
    simple = cv2.approxPolyDP(points, _CONTOUR_TOLERANCE_PX, True)
    return simple.reshape(-1, 2).tolist()


def visit_from_row(row: Mapping[str, Any]) -> Visit:
    """A :class:`Visit` from a ``visits`` table row mapping."""
    created = row["created_at"]
    if created.tzinfo is None:  # SQLite drops the zone; we always store UTC
        created = created.replace(tzinfo=dt.UTC)
    return Visit(
        id=int(row["id"]),
        pseudonym=row["pseudonym"],
        lesion_id=row["lesion_id"],
        body_site=row["body_site"],
        visit_date=row["visit_date"],
        created_at=created,
        model_version=row["model_version"],
        p_malignant=float(row["p_malignant"]),
        grade=int(row["grade"]),
        label=row["label"],
        mm_per_pixel=row["mm_per_pixel"],
        image_size=(int(row["image_width"]), int(row["image_height"])),
        descriptors=row["descriptors"],
        settings=row["settings"] or {},
        contour=row["contour"] or [],
        notes=row.get("notes") or "",
        differential=row.get("differential"),
    )
