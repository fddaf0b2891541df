"""Batch triage: many photos (or zips of photos) in, one row per lesion out, riskiest first.

Every photo goes through the same :func:`skinapp.analysis.analyze_bytes` as on the Diagnose
page (validated default settings), so the grade and probability are the ones a single
upload would show. A file that cannot be read is listed with its error; the rest go on.
Photos that are not dermoscopic images of a skin lesion (:func:`skinapp.trust.decision.decide`,
the rule every page follows) are kept apart in :attr:`TriageResult.not_lesions`, never ranked
among the lesions; an unusual lesion keeps its rank, with ``caution`` set.

Zip files are opened in memory, never extracted, with limits against zip bombs: at most
:data:`MAX_ZIP_MEMBERS` entries, :data:`MAX_ZIP_TOTAL_BYTES` uncompressed in all,
:data:`skinapp.io.MAX_UPLOAD_BYTES` per image, and no entry compressed more than
:data:`MAX_COMPRESSION_RATIO` times (photos hardly compress; a bomb compresses thousands of
times). Sizes are checked both as declared and while reading. Folders, hidden files
(``__MACOSX/``, ``.DS_Store``) and files that are not named as images are ignored.
"""

from __future__ import annotations

import base64
import io
import logging
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

import pandas as pd

from skinapp.analysis import Analysis, AnalysisSettings
from skinapp.errors import SkinappError
from skinapp.io import MAX_UPLOAD_BYTES, UPLOAD_LIMIT_TEXT, downscale_max_side, encode_jpeg
from skinapp.model.verdict import verdict
from skinapp.pool import AnalysisPool, OnWait, analyze_in_pool
from skinapp.trust.decision import decide

if TYPE_CHECKING:
    from skinapp.serving import Classifier

__all__ = [
    "CSV_COLUMNS",
    "IMAGE_SUFFIXES",
    "MAX_BATCH_FILES",
    "MAX_COMPRESSION_RATIO",
    "MAX_ZIP_MEMBERS",
    "MAX_ZIP_TOTAL_BYTES",
    "BatchFile",
    "BatchProblem",
    "TriageResult",
    "TriageRow",
    "expand_uploads",
    "run_triage",
    "to_csv",
    "to_frame",
]

logger = logging.getLogger(__name__)

#: Most photos analysed in one batch (about a minute on two CPU cores at ~0.3 s each).
MAX_BATCH_FILES = 200
#: Most entries a zip may list (folders and ignored files included).
MAX_ZIP_MEMBERS = 1000
#: Most bytes all photos of one zip may hold once uncompressed.
MAX_ZIP_TOTAL_BYTES = 200 * 1024 * 1024
#: Largest uncompressed / compressed size of a zip entry (JPEGs and PNGs stay near 1).
MAX_COMPRESSION_RATIO = 100
#: File names taken as photos inside a zip (by extension; the content is checked later).
IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".jpe", ".jfif"}
)
#: Why a photo is listed apart, without a grade.
NOT_A_LESION_TEXT = (
    "Not a dermoscopic image of a skin lesion: no grade given. Upload a dermoscopic photo of "
    "one lesion."
)
#: Long side of the thumbnails in the table, in pixels.
THUMBNAIL_SIDE = 96
#: Columns of the CSV export, in order.
CSV_COLUMNS = (
    "file",
    "grade",
    "p_malignant",
    "dx",
    "differential",
    "lesion_found",
    "diameter_px",
    "asymmetry",
    "color_count",
    "colors",
    "caution",
    "notes",
)
#: The caution shown beside an unusual lesion's grade.
UNUSUAL_CAUTION = "unusual lesion: unlike the training photos"


@dataclass(frozen=True)
class BatchFile:
    """One photo to analyse: a display name (``archive.zip/dir/photo.jpg``) and its bytes."""

    name: str
    data: bytes


@dataclass(frozen=True)
class BatchProblem:
    """A file that was not analysed, and why (a sentence for the user)."""

    name: str
    message: str


@dataclass(frozen=True)
class TriageRow:
    """The result of one photo (``diameter_px`` and ``asymmetry`` None without an outline)."""

    name: str
    grade: int
    p_malignant: float
    label: str
    lesion_found: bool
    diameter_px: float | None
    asymmetry: float | None
    colors: tuple[str, ...]
    notes: tuple[str, ...]
    thumbnail: bytes  # JPEG of the outlined photo, long side THUMBNAIL_SIDE
    dx: str = ""  # the differential's top call (a class code), "" without one
    differential: str = ""  # its top three with plain names and probabilities
    caution: str = ""  # UNUSUAL_CAUTION for a lesion unlike the training photos


@dataclass(frozen=True)
class TriageResult:
    """Lesion rows sorted riskiest first (grade, then probability), the photos that are not
    dermoscopic lesion images (by name; no grade), and the files left out."""

    rows: tuple[TriageRow, ...]
    problems: tuple[BatchProblem, ...]
    ignored: int = 0
    not_lesions: tuple[BatchProblem, ...] = ()


# === Collecting files ===


def expand_uploads(
    uploads: Iterable[tuple[str, bytes]], *, max_files: int = MAX_BATCH_FILES
) -> tuple[list[BatchFile], list[BatchProblem], int]:
    """Photos from uploaded files, opening zips; returns ``(files, problems, ignored)``.

    ``ignored`` counts zip entries skipped on purpose (folders, hidden files, non-image
    names). Files past ``max_files`` are listed as problems, not analysed.
    """
    files: list[BatchFile] = []
    problems: list[BatchProblem] = []
    ignored = 0
    for name, data in uploads:
        if _is_zip(name, data):
            found, bad, skipped = _open_zip(name, data)
            files += found
            problems += bad
            ignored += skipped
        else:
            files.append(BatchFile(name, data))
    if len(files) > max_files:
        problems += [
            BatchProblem(f.name, f"Not analysed: a batch holds at most {max_files} photos.")
            for f in files[max_files:]
        ]
        files = files[:max_files]
    return files, problems, ignored


def _is_zip(name: str, data: bytes) -> bool:
    return name.lower().endswith(".zip") or data[:4] == b"PK\x03\x04"


def _open_zip(name: str, data: bytes) -> tuple[list[BatchFile], list[BatchProblem], int]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        return [], [BatchProblem(name, f"This zip file cannot be opened: {err}.")], 0
    if len(members) > MAX_ZIP_MEMBERS:
        return (
            [],
            [
                BatchProblem(
                    name,
                    f"This zip lists {len(members)} entries; at most {MAX_ZIP_MEMBERS} are "
                    "accepted. Split it into smaller zips.",
                )
            ],
            0,
        )
    files: list[BatchFile] = []
    problems: list[BatchProblem] = []
    ignored = 0
    total = 0
    with archive:
        for info in members:
            label = f"{name}/{info.filename}"
            if not _is_photo_entry(info):
                ignored += 1
                continue
            if total + info.file_size > MAX_ZIP_TOTAL_BYTES:
                problems.append(
                    BatchProblem(
                        label,
                        f"The zip holds more than {MAX_ZIP_TOTAL_BYTES // (1024 * 1024)} MB of "
                        "photos: this entry and the rest were not unpacked.",
                    )
                )
                break
            problem = _entry_problem(info)
            if problem is None:
                try:
                    content = _read_bounded(archive, info)
                except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as err:
                    problem = f"This entry cannot be read from the zip: {err}."
                else:
                    if content is None:
                        problem = "Larger than its size declared in the zip: refused as unsafe."
                    else:
                        total += len(content)
                        files.append(BatchFile(label, content))
            if problem is not None:
                problems.append(BatchProblem(label, problem))
    return files, problems, ignored


def _is_photo_entry(info: zipfile.ZipInfo) -> bool:
    if info.is_dir():
        return False
    path = PurePosixPath(info.filename)
    if any(part.startswith(".") or part == "__MACOSX" for part in path.parts):
        return False
    return path.suffix.lower() in IMAGE_SUFFIXES


def _entry_problem(info: zipfile.ZipInfo) -> str | None:
    if info.flag_bits & 0x1:
        return "This entry is encrypted; add the photos to a zip without a password."
    if info.file_size > MAX_UPLOAD_BYTES:
        return f"Larger than {UPLOAD_LIMIT_TEXT} once unzipped."
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > 1024 * 1024 and ratio > MAX_COMPRESSION_RATIO:
        return "Compressed suspiciously well for a photo (a zip bomb?): refused."
    return None


def _read_bounded(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes | None:
    """The entry's bytes, or None if it inflates past its declared size (a forged header)."""
    with archive.open(info) as stream:
        content = stream.read(info.file_size + 1)
    return None if len(content) > info.file_size else content


# === Analysing ===


def run_triage(
    files: Sequence[BatchFile],
    classifier: Classifier,
    settings: AnalysisSettings | None = None,
    *,
    problems: Sequence[BatchProblem] = (),
    ignored: int = 0,
    on_progress: Callable[[int, int, str], None] | None = None,
    pool: AnalysisPool | None = None,
    on_wait: OnWait | None = None,
) -> TriageResult:
    """Analyse every file with :func:`skinapp.analysis.analyze_bytes` and sort the results.

    Each photo takes its own turn in the analysis pool (:mod:`skinapp.pool`), so a batch
    shares the cores with Diagnose users instead of holding a place for its whole length.

    Parameters
    ----------
    files : sequence of BatchFile
        From :func:`expand_uploads`.
    classifier : skinapp.serving.Classifier
    settings : AnalysisSettings, optional
        Default: the validated defaults (the Lab's settings do not apply to triage).
    problems, ignored
        Carried over from :func:`expand_uploads` into the result.
    on_progress : callable, optional
        Called as ``on_progress(done, total, name)`` after each file.
    pool : AnalysisPool, optional
        Default: the process's :func:`skinapp.pool.default_pool`.
    on_wait : callable, optional
        ``on_wait(ahead)`` while a photo waits for its turn.
    """
    settings = settings or AnalysisSettings()
    rows: list[TriageRow] = []
    not_lesions: list[BatchProblem] = []
    failed = list(problems)
    for i, item in enumerate(files, start=1):
        try:
            analysis = analyze_in_pool(
                item.data, settings, classifier, pool=pool, on_wait=on_wait, join_when_full=True
            )
            decision = decide(analysis.prediction)
            if decision.not_a_lesion:
                not_lesions.append(BatchProblem(item.name, NOT_A_LESION_TEXT))
            else:
                rows.append(_row(item.name, analysis, UNUSUAL_CAUTION if decision.unusual else ""))
        except SkinappError as err:
            failed.append(BatchProblem(item.name, str(err)))
        except Exception as err:  # one odd file must not stop a batch of hundreds
            logger.exception("Triage of one file failed")
            failed.append(BatchProblem(item.name, f"Could not be analysed ({type(err).__name__})."))
        if on_progress is not None:
            on_progress(i, len(files), item.name)
    return TriageResult(
        rows=tuple(sort_rows(rows)),
        problems=tuple(failed),
        ignored=ignored,
        not_lesions=tuple(not_lesions),
    )


def sort_rows(rows: Iterable[TriageRow]) -> list[TriageRow]:
    """Riskiest first: grade high to low, then probability high to low, then name."""
    return sorted(rows, key=lambda r: (-r.grade, -r.p_malignant, r.name))


def _row(name: str, analysis: Analysis, caution: str = "") -> TriageRow:
    d = analysis.descriptors
    thumb = downscale_max_side(analysis.contour_overlay, THUMBNAIL_SIDE)
    return TriageRow(
        name=name,
        grade=int(analysis.prediction.grade),
        p_malignant=float(analysis.prediction.p_malignant),
        label=analysis.prediction.label,
        lesion_found=bool(analysis.segmentation.found),
        dx=verdict(analysis.prediction).top or "",
        differential=verdict(analysis.prediction).differential_text(),
        diameter_px=None if d is None else float(d.diameter_px),
        asymmetry=None if d is None else float(d.asymmetry),
        colors=() if d is None else tuple(d.colors),
        notes=tuple(analysis.notes),
        thumbnail=encode_jpeg(thumb, quality=80),
        caution=caution,
    )


# === Tables ===


def to_frame(rows: Sequence[TriageRow]) -> pd.DataFrame:
    """The rows as a table, thumbnails as ``data:image/jpeg;base64,`` URIs (for an image
    column), in the order given."""
    return pd.DataFrame(
        {
            "thumbnail": [
                "data:image/jpeg;base64," + base64.b64encode(r.thumbnail).decode() for r in rows
            ],
            "file": [r.name for r in rows],
            "grade": [r.grade for r in rows],
            "p_malignant": [r.p_malignant for r in rows],
            "differential": [r.differential for r in rows],
            "dx": [r.dx for r in rows],
            "lesion_found": [r.lesion_found for r in rows],
            "diameter_px": [r.diameter_px for r in rows],
            "asymmetry": [r.asymmetry for r in rows],
            "color_count": [len(r.colors) for r in rows],
            "colors": [", ".join(c.replace("_", " ") for c in r.colors) for r in rows],
            "caution": [r.caution for r in rows],
            "notes": [" ".join(r.notes) for r in rows],
        }
    )


def to_csv(frame: pd.DataFrame) -> bytes:
    """A :func:`to_frame` table as CSV (:data:`CSV_COLUMNS`, no thumbnails), UTF-8."""
    out = frame.loc[:, list(CSV_COLUMNS)].copy()
    out["p_malignant"] = out["p_malignant"].round(4)
    return out.to_csv(index=False, float_format="%.4g").encode("utf-8")
