"""Safe image input and metadata-free output.

Uploads are untrusted: :func:`read_image` reads a bounded number of bytes, identifies the
format from the content (never from the file name), rejects decompression bombs from the
header before any pixel is decoded, applies the EXIF orientation and returns a plain
``(H, W, 3) uint8`` RGB array, which by construction carries no metadata (EXIF, GPS, ICC,
text chunks are all left behind in the file). :func:`encode_png` and :func:`encode_jpeg`
write such arrays back without any metadata.

Every failure is an :class:`~skinapp.errors.ImageReadError` (the bytes are not a readable
image) or an :class:`~skinapp.errors.InvalidImageError` (the image decoded but cannot be
analysed), with a message a clinician can act on and a machine-readable ``reason``:

- ``"empty"``: the file has no bytes;
- ``"too_large"``: the file is larger than ``max_bytes``;
- ``"not_an_image"``: the content is not JPEG, PNG, BMP, TIFF, WebP or GIF;
- ``"truncated"``: the file is an image but incomplete or damaged;
- ``"bomb"``: the header announces more than ``max_pixels`` pixels;
- ``"unsupported_mode"``: a pixel format skinapp does not convert (e.g. 32-bit float);
- ``"not_found"``: a path that cannot be opened;
- ``"too_small"`` (InvalidImageError): a side is shorter than ``min_side``;
- ``"bad_array"`` (InvalidImageError): an array that is not ``(H, W, 3) uint8``.

Memory stays bounded: at most ``max_bytes + 1`` bytes are read, only the first frame is
decoded, and nothing is decoded before the header passed the ``max_pixels`` check.
"""

from __future__ import annotations

import io
import logging
import os
import re
import threading
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

import cv2
import numpy as np
from PIL import Image, ImageOps

from skinapp.errors import ImageReadError, InvalidImageError

logger = logging.getLogger(__name__)

__all__ = [
    "ACCEPTED_FORMATS",
    "MAX_PIXELS",
    "MAX_UPLOAD_BYTES",
    "MAX_UPLOAD_MB",
    "MIN_SIDE",
    "UPLOAD_LIMIT_TEXT",
    "check_image",
    "downscale_max_side",
    "encode_jpeg",
    "encode_png",
    "read_image",
]

#: Largest accepted upload in megabytes as the browser counts them (1 MB = 1,000,000 bytes):
#: Streamlit's file uploader refuses larger files with "File must be 20.0MB or smaller" before
#: they are sent, so ``server.maxUploadSize`` in ``.streamlit/config.toml``, this reader and
#: every help text state this one number (the server's own check, in 1024-based MB, is looser).
MAX_UPLOAD_MB = 20
#: :data:`MAX_UPLOAD_MB` in bytes. Checked before decoding.
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1_000_000
#: The limit as the help texts state it.
UPLOAD_LIMIT_TEXT = f"{MAX_UPLOAD_MB} MB"
#: Largest accepted image, in pixels (50 megapixels). Checked from the header.
MAX_PIXELS = 50_000_000
#: Shortest accepted side, in pixels.
MIN_SIDE = 32
#: Pillow decoders that may run on an upload; every other parser stays unreachable.
#: ("JPEG" also opens the multi-picture JPEGs, Pillow's "MPO", that many cameras write.)
ACCEPTED_FORMATS = ("JPEG", "PNG", "BMP", "TIFF", "WEBP", "GIF")

_EXPECTED = "JPEG, PNG, BMP, TIFF or WebP expected"
_SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I"})
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "PA"})
_UNSUPPORTED_MODES = {
    "F": "32-bit floating-point pixels",
    "LAB": "CIELab colour",
    "La": "premultiplied grey+alpha",
}

_OPEN_LOCK = threading.Lock()

ImageSource = bytes | bytearray | memoryview | str | os.PathLike | BinaryIO


# === Reading ===


def read_image(
    source: ImageSource,
    *,
    max_bytes: int = MAX_UPLOAD_BYTES,
    max_pixels: int = MAX_PIXELS,
    min_side: int = MIN_SIDE,
) -> np.ndarray:
    """Decode an untrusted image file into an RGB array.

    Parameters
    ----------
    source : bytes, bytearray, memoryview, str, os.PathLike or binary file object
        The encoded file. ``str`` and path-like values are file paths; a file object is
        read from its start when it is seekable (Streamlit's ``UploadedFile`` may already
        have been read once). At most ``max_bytes + 1`` bytes are read.
    max_bytes : int
        Largest accepted file size in bytes.
    max_pixels : int
        Largest accepted ``width * height``, checked from the header before decoding.
    min_side : int
        Shortest accepted side in pixels.

    Returns
    -------
    image : (H, W, 3) ndarray of uint8
        RGB pixels in [0, 255], EXIF orientation applied, first frame of animations and
        multi-page files. Transparent pixels are composited on a white background (the
        colour of an empty dermatoscope field, and what a browser shows). 16-bit images
        are scaled to 8 bit (``round(v * 255 / 65535)``), never clipped. Embedded colour
        profiles are ignored (pixels are taken as sRGB). The array owns its memory.

    Raises
    ------
    ImageReadError
        The bytes are empty, too large, not an image, incomplete, a decompression bomb or
        in an unsupported pixel format (see the module docstring for ``reason`` codes).
    InvalidImageError
        The image decoded but a side is shorter than ``min_side`` (``reason="too_small"``).
    TypeError
        ``source`` is of another type, or a file object is opened in text mode.

    Examples
    --------
    >>> image = read_image(encode_png(np.zeros((40, 50, 3), np.uint8)))
    >>> image.shape, image.dtype
    ((40, 50, 3), dtype('uint8'))
    """
    data = _read_bounded(source, max_bytes)
    if not data:
        raise ImageReadError(
            "This file is empty (0 bytes). Please choose the image again; the upload may "
            "have failed.",
            reason="empty",
        )
    with _open_untrusted(data) as img:
        _check_header(img, max_pixels=max_pixels, min_side=min_side)
        _decode(img, len(data))
        image = _to_rgb_array(_apply_orientation(img))
    logger.debug("Decoded %s image %s from %d bytes", img.format, image.shape, len(data))
    return image


def _read_bounded(source: ImageSource, max_bytes: int) -> bytes:
    """Return the bytes of ``source``, reading at most ``max_bytes + 1`` of them."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        size = source.nbytes if isinstance(source, memoryview) else len(source)
        data = bytes(source) if size <= max_bytes else b""
        received = _megabytes(size)
    elif isinstance(source, (str, os.PathLike)):
        try:
            with open(source, "rb") as fh:
                data = fh.read(max_bytes + 1)
                received = _megabytes(os.fstat(fh.fileno()).st_size)
        except OSError as err:
            raise ImageReadError(
                f"The image file could not be opened. Received: {os.fspath(source)!r} "
                f"({err.strerror or err}).",
                reason="not_found",
            ) from err
        size = len(data)
    elif hasattr(source, "read"):
        if getattr(source, "seekable", lambda: False)():
            source.seek(0)
        data = source.read(max_bytes + 1)
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError(
                "read_image needs a file opened in binary mode ('rb'). "
                f"Received: a file whose read() returns {type(data).__name__}"
            )
        size = len(data)
        received = f"more than {_megabytes(max_bytes)}"
    else:
        raise TypeError(
            "read_image accepts bytes, a file path or a binary file object. "
            f"Received: {type(source).__name__}"
        )
    if size > max_bytes:
        limit = _megabytes(max_bytes)
        if received == limit:  # just over the limit: the rounded sizes would read the same
            received, limit = f"{size:,} bytes", f"{limit} = {max_bytes:,} bytes"
        raise ImageReadError(
            f"This file is too large to analyse (the limit is {limit}). "
            f"Received: {received}. Please upload a smaller export of the image.",
            reason="too_large",
        )
    return bytes(data)


def _open_untrusted(data: bytes) -> Image.Image:
    """``Image.open`` restricted to :data:`ACCEPTED_FORMATS`, bombs turned into errors."""
    try:
        # Only for this call: Pillow's DecompressionBombWarning (between 1x and 2x its
        # MAX_IMAGE_PIXELS) becomes an exception, like its DecompressionBombError above 2x.
        # `catch_warnings` swaps process-global state, so concurrent calls (the training
        # data loader reads with threads) take turns; opening parses only the header.
        with _OPEN_LOCK, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        count = re.search(r"\((\d+) pixels\)", str(err))
        received = f"{int(count.group(1)) / 1e6:.0f} megapixels" if count else "more"
        raise ImageReadError(
            "This image announces more pixels than skinapp can analyse safely (a possible "
            f"decompression-bomb attack). Received: {received}. Please upload a smaller "
            "export of the image.",
            reason="bomb",
        ) from err
    except Exception as err:  # any parser failure on hostile bytes
        kind = _sniff_format(data)
        if kind is not None and _describe(data) != "a text file":
            raise ImageReadError(
                f"This {kind} file is incomplete or damaged (often an interrupted upload or "
                f"copy); please upload it again. Received: {len(data)} bytes whose header "
                f"could not be read ({type(err).__name__}).",
                reason="truncated",
            ) from err
        raise ImageReadError(
            f"This file is not an image skinapp can read ({_EXPECTED}). "
            f"Received: {_describe(data)}.",
            reason="not_an_image",
        ) from err


def _check_header(img: Image.Image, *, max_pixels: int, min_side: int) -> None:
    """Reject by size and pixel format before any pixel is decoded."""
    width, height = img.size
    if width * height > max_pixels:
        raise ImageReadError(
            f"This image has too many pixels to analyse safely: {width} × {height} "
            f"({width * height / 1e6:.1f} megapixels; the limit is {max_pixels / 1e6:g}). "
            "Please upload a smaller export of the image.",
            reason="bomb",
        )
    if min(width, height) < min_side:
        raise InvalidImageError(
            f"This image is too small to analyse: each side needs at least {min_side} "
            f"pixels. Received: {width} × {height} pixels.",
            reason="too_small",
        )
    if img.mode in _UNSUPPORTED_MODES:
        raise ImageReadError(
            f"This {img.format} image stores {_UNSUPPORTED_MODES[img.mode]}, which skinapp "
            "cannot convert to colour safely. Please export it as an 8-bit or 16-bit RGB "
            f"JPEG, PNG or TIFF. Received: pixel mode {img.mode!r}.",
            reason="unsupported_mode",
        )


def _decode(img: Image.Image, n_bytes: int) -> None:
    """Decode the pixels; truncated data raises (``LOAD_TRUNCATED_IMAGES`` stays off)."""
    try:
        img.load()
    except Exception as err:  # OSError "image file is truncated", zlib, struct, EOF...
        raise ImageReadError(
            f"This {img.format} image is incomplete or damaged (often an interrupted "
            "upload or copy); please upload it again. Received: "
            f"{n_bytes} bytes that could not be decoded ({err}).",
            reason="truncated",
        ) from err


def _apply_orientation(img: Image.Image) -> Image.Image:
    """Rotate/flip as the EXIF Orientation tag says; a broken EXIF block is ignored."""
    try:
        ImageOps.exif_transpose(img, in_place=True)  # not a copy: a 12-MP photo is 36 MB
        return img
    except Exception:  # malformed metadata must not make a good image unreadable
        logger.warning("Ignoring unreadable EXIF orientation in a %s image", img.format)
        return img


def _to_rgb_array(img: Image.Image) -> np.ndarray:
    """Convert any decoded mode to a writable ``(H, W, 3) uint8`` RGB array."""
    if img.mode in _SIXTEEN_BIT_MODES:
        values = np.asarray(img)
        if values.size and (values.min() < 0 or values.max() > 65535):
            raise ImageReadError(
                "This image stores 32-bit integer pixels outside the 16-bit range, which "
                "skinapp cannot convert safely. Please export it as an 8-bit or 16-bit "
                f"image. Received: values from {values.min()} to {values.max()}.",
                reason="unsupported_mode",
            )
        grey = ((values.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))
    try:
        if img.mode in _ALPHA_MODES or "transparency" in img.info:
            rgba = img.convert("RGBA")
            white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            rgb = Image.alpha_composite(white, rgba).convert("RGB")
        else:
            rgb = img if img.mode == "RGB" else img.convert("RGB")
    except ValueError as err:
        raise ImageReadError(
            f"This image uses a pixel format skinapp cannot convert to colour. "
            f"Received: pixel mode {img.mode!r}.",
            reason="unsupported_mode",
        ) from err
    return np.array(rgb, dtype=np.uint8)


def _megabytes(n_bytes: int) -> str:
    """``n_bytes`` in decimal units, as browsers count them ("20.0 MB", "1.5 KB", "12 bytes")."""
    if n_bytes >= 1_000_000:
        return f"{n_bytes / 1_000_000:.1f} MB"
    if n_bytes >= 1000:
        return f"{n_bytes / 1000:.1f} KB"
    return f"{n_bytes} bytes"


def _sniff_format(data: bytes) -> str | None:
    """The accepted format whose signature ``data`` starts with, if any."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if data.startswith((b"II*\x00", b"MM\x00*")):
        return "TIFF"
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "WebP"
    if data.startswith(b"BM") and len(data) >= 14:
        return "BMP"
    return None


_MAGIC = (
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive or Office document"),
    (b"8BPS", "a Photoshop document"),
    (b"\x00\x00\x00\x0cjP  ", "a JPEG 2000 image"),
    (b"\xffO\xffQ", "a JPEG 2000 image"),
    (b"RIFF", "a RIFF file (audio or video)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\x7fELF", "a program file"),
    (b"MZ", "a Windows program file"),
)


def _describe(data: bytes) -> str:
    """Name the kind of file ``data`` looks like, for error messages."""
    head = data[:512]
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"hevc", b"mif1", b"msf1", b"heim", b"heis"):
            return "a HEIC/HEIF photo (the iPhone default: export it as JPEG)"
        if brand in (b"avif", b"avis"):
            return "an AVIF image"
        return "a video or MP4-family file"
    if data[128:132] == b"DICM":
        return "a DICOM file"
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    lowered = head.lstrip().lower()
    if lowered.startswith((b"<!doctype html", b"<html")) or b"<html" in lowered:
        return "an HTML page"
    if b"<svg" in lowered:
        return "an SVG drawing"
    try:
        text = data[:4096].decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and all(ch.isprintable() or ch in "\r\n\t\f" for ch in text):
        return "a text file"
    return f"a file of unknown type ({len(data)} bytes)"


# === Writing ===


def check_image(image: np.ndarray, *, name: str = "image") -> None:
    """Raise :class:`InvalidImageError` unless ``image`` is a ``(H, W, 3) uint8`` array.

    Parameters
    ----------
    image : ndarray
        The array to check; ``H`` and ``W`` must be at least 1.
    name : str
        How the array is called in the error message.
    """
    if (
        not isinstance(image, np.ndarray)
        or image.dtype != np.uint8
        or image.ndim != 3
        or image.shape[2] != 3
        or image.shape[0] < 1
        or image.shape[1] < 1
    ):
        shape = getattr(image, "shape", None)
        dtype = getattr(image, "dtype", type(image).__name__)
        raise InvalidImageError(
            f"Expected `{name}` to be an RGB image array of shape (H, W, 3) and dtype uint8. "
            f"Received: shape {shape}, dtype {dtype}.",
            reason="bad_array",
        )


def encode_png(image: np.ndarray) -> bytes:
    """Encode an RGB image as a PNG file without any metadata.

    Parameters
    ----------
    image : (H, W, 3) ndarray of uint8
        RGB pixels.

    Returns
    -------
    bytes
        A lossless PNG with no EXIF, GPS, text or colour-profile chunks.

    Raises
    ------
    InvalidImageError
        ``image`` is not ``(H, W, 3) uint8``.
    """
    check_image(image)
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image), mode="RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def encode_jpeg(image: np.ndarray, quality: int = 90) -> bytes:
    """Encode an RGB image as a JPEG file without any metadata.

    Parameters
    ----------
    image : (H, W, 3) ndarray of uint8
        RGB pixels.
    quality : int
        JPEG quality from 1 (smallest) to 95 (best; higher values only grow the file).

    Returns
    -------
    bytes
        A baseline JPEG (JFIF header only: no EXIF, GPS or colour profile).

    Raises
    ------
    InvalidImageError
        ``image`` is not ``(H, W, 3) uint8``.
    ValueError
        ``quality`` is outside [1, 95].
    """
    check_image(image)
    if isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 95:
        raise ValueError(f"JPEG quality must be an integer in [1, 95]. Received: `{quality=}`")
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image), mode="RGB").save(
        buffer, format="JPEG", quality=quality
    )
    return buffer.getvalue()


def downscale_max_side(image: np.ndarray, max_side: int) -> np.ndarray:
    """Shrink an image so that its long side is at most ``max_side``, keeping the aspect.

    Parameters
    ----------
    image : (H, W, 3) ndarray of uint8
        RGB pixels.
    max_side : int
        Longest allowed side in pixels (>= 1).

    Returns
    -------
    (H', W', 3) ndarray of uint8
        Resized with area averaging (no aliasing), ``max(H', W') == max_side`` and each
        side at least 1 pixel; a copy of ``image`` if it is already small enough.

    Raises
    ------
    InvalidImageError
        ``image`` is not ``(H, W, 3) uint8``.
    ValueError
        ``max_side`` is not a positive integer.

    Examples
    --------
    >>> downscale_max_side(np.zeros((3000, 4000, 3), np.uint8), 1024).shape
    (768, 1024, 3)
    """
    check_image(image)
    if isinstance(max_side, bool) or not isinstance(max_side, int) or max_side < 1:
        raise ValueError(f"max_side must be a positive integer. Received: `{max_side=}`")
    height, width = image.shape[:2]
    long_side = max(height, width)
    if long_side <= max_side:
        return image.copy()
    scale = max_side / long_side
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(np.ascontiguousarray(image), size, interpolation=cv2.INTER_AREA)


def iter_input_files(
    paths: Sequence[str | os.PathLike], *, exclude: Path | None = None
) -> Iterator[tuple[Path, str]]:
    """Yield ``(path, error)`` for every input of a batch command, in a stable order.

    Folders are expanded recursively and sorted; hidden files and folders (``.DS_Store``,
    ``.git``) are skipped; files under ``exclude`` (e.g. the command's own output folder) are
    skipped. ``error`` is empty for existing files and says why otherwise. Whether a file is an
    image is decided later, by content, in :func:`read_image`.
    """
    excluded = Path(exclude).resolve() if exclude is not None else None
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.is_file()):
                if any(part.startswith(".") for part in file.relative_to(path).parts):
                    continue
                if excluded is not None and file.resolve().is_relative_to(excluded):
                    continue
                yield file, ""
        elif path.is_file():
            yield path, ""
        else:
            yield path, "no such file or folder"
