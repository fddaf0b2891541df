"""Tests for skinapp.io: every file here is generated in the test (no binary fixtures)."""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFile

from skinapp.errors import ImageReadError, InvalidImageError, SkinappError
from skinapp.io import (
    MAX_PIXELS,
    MAX_UPLOAD_BYTES,
    MAX_UPLOAD_MB,
    UPLOAD_LIMIT_TEXT,
    check_image,
    downscale_max_side,
    encode_jpeg,
    encode_png,
    read_image,
)

SAMPLES = Path(__file__).resolve().parents[1] / "skinapp" / "samples"


# === Helpers ===


def gradient(height: int = 48, width: int = 64) -> np.ndarray:
    """A smooth RGB test image (compresses well, survives JPEG with small error)."""
    y, x = np.mgrid[0:height, 0:width]
    return np.stack(
        [x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1), np.full_like(x, 128)],
        axis=2,
    ).astype(np.uint8)


def encode(img: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def tiff16(array: np.ndarray, *, big_endian: bool = False) -> bytes:
    """A minimal uncompressed 16-bit TIFF (grey or RGB), which Pillow cannot write."""
    array = np.asarray(array, np.uint16)
    height, width = array.shape[:2]
    samples = 1 if array.ndim == 2 else array.shape[2]
    order = ">" if big_endian else "<"
    pixels = array.astype(order + "u2").tobytes()
    n_entries, ifd_offset = 9, 8
    bits_offset = ifd_offset + 2 + n_entries * 12 + 4
    data_offset = bits_offset + (2 * samples if samples > 2 else 0)
    entries = [
        (256, 3, 1, width),
        (257, 3, 1, height),
        (258, 3, samples, bits_offset if samples > 2 else 16),
        (259, 3, 1, 1),  # no compression
        (262, 3, 1, 2 if samples == 3 else 1),  # RGB or BlackIsZero
        (273, 4, 1, data_offset),
        (277, 3, 1, samples),
        (278, 3, 1, height),
        (279, 4, 1, len(pixels)),
    ]
    out = bytearray((b"MM" if big_endian else b"II") + struct.pack(order + "HI", 42, 8))
    out += struct.pack(order + "H", n_entries)
    for tag, kind, count, value in entries:
        if kind == 3 and count == 1:
            out += struct.pack(order + "HHIHH", tag, kind, count, value, 0)
        else:
            out += struct.pack(order + "HHII", tag, kind, count, value)
    out += struct.pack(order + "I", 0)
    if samples > 2:
        out += struct.pack(order + "H" * samples, *[16] * samples)
    return bytes(out + pixels)


def png_bomb(width: int, height: int) -> bytes:
    """A valid 1-bit black PNG of width × height, streamed so it never sits in memory."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    compressor = zlib.compressobj(9)
    rows = bytes(1 + (width + 7) // 8) * 1000  # filter byte + packed zero bits, 1000 rows
    idat = b"".join(compressor.compress(rows) for _ in range(height // 1000))
    idat += compressor.compress(bytes(1 + (width + 7) // 8) * (height % 1000))
    idat += compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def read_error(source, **kwargs) -> ImageReadError:
    with pytest.raises(ImageReadError) as info:
        read_image(source, **kwargs)
    return info.value


def assert_rgb(image: np.ndarray, shape: tuple[int, int]) -> None:
    assert isinstance(image, np.ndarray)
    assert image.dtype == np.uint8
    assert image.shape == (*shape, 3)
    assert image.flags.writeable and image.flags.c_contiguous


# === Formats ===


@pytest.mark.parametrize(
    ("fmt", "tolerance"),
    [("JPEG", 12), ("PNG", 0), ("BMP", 0), ("TIFF", 0), ("WEBP", 0), ("GIF", None)],
)
def test_reads_each_accepted_format(fmt, tolerance):
    expected = gradient()
    kwargs = {"lossless": True} if fmt == "WEBP" else {}
    image = read_image(encode(Image.fromarray(expected), fmt, **kwargs))
    assert_rgb(image, expected.shape[:2])
    if tolerance is not None:
        assert np.abs(image.astype(int) - expected).max() <= tolerance


def test_format_comes_from_content_not_extension(tmp_path):
    expected = gradient()
    path = tmp_path / "photo.bmp"
    path.write_bytes(encode(Image.fromarray(expected), "PNG"))
    np.testing.assert_array_equal(read_image(path), expected)
    np.testing.assert_array_equal(read_image(str(path)), expected)


@pytest.mark.parametrize("wrap", [bytes, bytearray, memoryview, io.BytesIO])
def test_accepts_bytes_like_and_file_objects(wrap):
    expected = gradient()
    np.testing.assert_array_equal(read_image(wrap(encode_png(expected))), expected)


def test_file_object_is_read_from_its_start():
    expected = gradient()
    upload = io.BytesIO(encode_png(expected))
    upload.read()  # e.g. Streamlit already read the upload on a previous run
    np.testing.assert_array_equal(read_image(upload), expected)


def test_reads_a_real_sample():
    image = read_image(SAMPLES / "ISIC_0000180.jpg")
    assert_rgb(image, (150, 224))


def test_rejects_other_types():
    with pytest.raises(TypeError, match="Received: int"):
        read_image(42)
    with pytest.raises(TypeError, match="binary mode"):
        read_image(io.StringIO("not bytes"))


def test_missing_path():
    error = read_error("/nonexistent/lesion.jpg")
    assert error.reason == "not_found"
    assert "/nonexistent/lesion.jpg" in str(error)


# === Orientation and pixel modes ===


def test_exif_orientation_is_applied():
    array = np.zeros((40, 60, 3), np.uint8)
    array[:20, :30] = (255, 0, 0)  # red top-left quadrant as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    image = read_image(encode(Image.fromarray(array), "JPEG", exif=exif, quality=95))
    assert_rgb(image, (60, 40))
    # After a clockwise turn the stored top-left lands top-right.
    assert image[5, 35, 0] > 200 and image[5, 35, 1] < 60
    assert image[55, 5, 0] < 60


def test_cmyk_jpeg():
    expected = np.full((40, 40, 3), (200, 60, 40), np.uint8)
    image = read_image(encode(Image.fromarray(expected).convert("CMYK"), "JPEG", quality=95))
    assert_rgb(image, (40, 40))
    assert np.abs(image.astype(int) - expected).max() <= 6


def test_16_bit_grey_png_is_scaled_not_clipped():
    values = np.array([[0, 257 * 100, 32768, 65535]], np.uint16).repeat(32, 0).repeat(8, 1)
    image = read_image(encode(Image.fromarray(values), "PNG"))
    assert Image.fromarray(values).mode == "I;16"
    assert image[0, ::8, 0].tolist() == [0, 100, 128, 255]
    assert (image[..., 0] == image[..., 1]).all() and (image[..., 0] == image[..., 2]).all()


@pytest.mark.parametrize("big_endian", [False, True])
def test_16_bit_grey_tiff(big_endian):
    values = np.array([[0, 257 * 100, 65535, 257 * 7]], np.uint16).repeat(32, 0).repeat(8, 1)
    image = read_image(tiff16(values, big_endian=big_endian))
    assert image[0, ::8, 1].tolist() == [0, 100, 255, 7]


@pytest.mark.parametrize("big_endian", [False, True])
def test_16_bit_rgb_tiff(big_endian):
    values = np.zeros((32, 40, 3), np.uint16)
    values[..., 0], values[..., 1], values[..., 2] = 65535, 257 * 128, 257 * 30
    image = read_image(tiff16(values, big_endian=big_endian))
    assert_rgb(image, (32, 40))
    assert image[0, 0].tolist() == [255, 128, 30]


def test_greyscale_l():
    grey = gradient()[..., 0]
    image = read_image(encode(Image.fromarray(grey), "PNG"))
    np.testing.assert_array_equal(image, np.repeat(grey[..., None], 3, axis=2))


@pytest.mark.parametrize("mode", ["LA", "RGBA"])
def test_alpha_is_composited_on_white(mode):
    rgba = np.zeros((32, 32, 4), np.uint8)
    rgba[..., :3] = 100
    rgba[:, :10, 3] = 0  # transparent -> white
    rgba[:, 10:20, 3] = 255  # opaque -> the colour
    rgba[:, 20:, 3] = 128  # half -> halfway to white
    img = Image.fromarray(rgba, "RGBA")
    image = read_image(encode(img.convert(mode), "PNG"))
    assert image[0, 0].tolist() == [255] * 3
    assert image[0, 15].tolist() == [100] * 3
    assert np.abs(image[0, 25].astype(int) - 178).max() <= 1  # 100 + (255 - 100) / 2


def test_palette_without_transparency():
    expected = np.zeros((32, 32, 3), np.uint8)
    expected[:, 16:] = (10, 200, 30)
    img = Image.fromarray(expected).convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    np.testing.assert_array_equal(read_image(encode(img, "PNG")), expected)


def test_palette_with_transparency_uses_white():
    img = Image.new("P", (32, 32), 0)
    img.putpalette([0, 0, 0, 200, 30, 30] + [0] * 762)
    img.paste(1, (16, 0, 32, 32))
    image = read_image(encode(img, "PNG", transparency=0))
    assert image[0, 0].tolist() == [255, 255, 255]
    assert image[0, 20].tolist() == [200, 30, 30]


@pytest.mark.parametrize(
    ("fmt", "kwargs"), [("GIF", {}), ("WEBP", {"lossless": True}), ("PNG", {})]
)
def test_animation_gives_first_frame(fmt, kwargs):
    colours = [(220, 20, 20), (20, 220, 20), (20, 20, 220)]
    frames = [Image.new("RGB", (40, 32), colour) for colour in colours]
    data = encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, **kwargs)
    assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 3
    image = read_image(data)
    assert_rgb(image, (32, 40))
    assert np.abs(image.astype(int) - colours[0]).max() <= 2


def test_float_tiff_is_unsupported_mode():
    data = encode(Image.fromarray(np.full((40, 40), 0.5, np.float32)), "TIFF")
    error = read_error(data)
    assert error.reason == "unsupported_mode"
    assert "floating-point" in str(error)


# === Hostile and broken input ===


def test_empty_file(tmp_path):
    assert read_error(b"").reason == "empty"
    (tmp_path / "empty.jpg").write_bytes(b"")
    assert read_error(tmp_path / "empty.jpg").reason == "empty"


def test_random_bytes():
    data = np.random.default_rng(0).bytes(4096)
    error = read_error(data)
    assert error.reason == "not_an_image"
    assert "JPEG, PNG, BMP, TIFF or WebP expected" in str(error)


@pytest.mark.parametrize(
    ("content", "described_as"),
    [
        (b"Patient notes\nlesion on left arm, 6 mm\n", "a text file"),
        (b"<!DOCTYPE html>\n<html><body>Login</body></html>", "an HTML page"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "a PDF document"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "a HEIC/HEIF photo"),
    ],
)
def test_non_image_renamed_jpg(tmp_path, content, described_as):
    path = tmp_path / "lesion.jpg"
    path.write_bytes(content)
    error = read_error(path)
    assert error.reason == "not_an_image"
    assert f"Received: {described_as}" in str(error)
    assert isinstance(error, SkinappError)


def test_text_file_message_is_exact():
    assert str(read_error(b"hello\n")) == (
        "This file is not an image skinapp can read (JPEG, PNG, BMP, TIFF or WebP "
        "expected). Received: a text file."
    )


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.02])
def test_truncated_jpeg_raises(keep):
    noise = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    data = encode(Image.fromarray(noise), "JPEG")
    error = read_error(data[: int(len(data) * keep)])
    assert error.reason == "truncated"
    assert "incomplete or damaged" in str(error)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_truncated_png_raises():
    noise = np.random.default_rng(2).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    data = encode_png(noise)
    assert read_error(data[: len(data) // 2]).reason == "truncated"


@pytest.fixture
def no_decoding(monkeypatch):
    """Fail loudly if a test decodes pixels (a bomb would need hundreds of MB)."""
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: pytest.fail("decoded a bomb"))


@pytest.mark.usefixtures("no_decoding")
def test_decompression_bomb_rejected_from_header():
    data = png_bomb(30000, 30000)  # 900 megapixels in ~110 KB
    assert len(data) < 200_000
    error = read_error(data, max_pixels=10**12)  # beyond Pillow's DecompressionBombError
    assert error.reason == "bomb"
    assert "Received: 900 megapixels" in str(error)


@pytest.mark.usefixtures("no_decoding")
def test_bomb_below_pillow_limit_rejected_by_our_header_check():
    data = png_bomb(8000, 8000)  # 64 MP: above MAX_PIXELS, below Pillow's warning
    assert Image.MAX_IMAGE_PIXELS > 8000 * 8000
    error = read_error(data)
    assert error.reason == "bomb"
    assert "8000 × 8000" in str(error) and "64.0 megapixels" in str(error)


def test_header_pixel_limit():
    data = encode_png(gradient(100, 120))
    assert read_error(data, max_pixels=100 * 120 - 1).reason == "bomb"
    assert read_image(data, max_pixels=100 * 120).shape == (100, 120, 3)
    assert MAX_PIXELS >= 4000 * 6000  # a 24 MP camera photo still fits


def test_pillow_bomb_warning_becomes_an_error(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 60 * 60)
    data = encode_png(gradient(64, 64))  # between 1x and 2x Pillow's limit: a warning
    assert read_error(data, max_pixels=10**9).reason == "bomb"


def test_concurrent_reads_leave_warning_filters_alone():
    before = list(warnings.filters)
    data = [encode_png(gradient(40 + i, 40)) for i in range(8)] * 8
    with ThreadPoolExecutor(max_workers=4) as pool:
        shapes = [image.shape for image in pool.map(read_image, data)]
    assert shapes == [(40 + i, 40, 3) for i in range(8)] * 8
    assert warnings.filters == before


def test_size_limit_on_bytes_and_paths(tmp_path):
    data = encode_png(gradient())
    assert read_error(data, max_bytes=len(data) - 1).reason == "too_large"
    path = tmp_path / "big.png"
    path.write_bytes(data)
    error = read_error(path, max_bytes=len(data) - 1)
    assert error.reason == "too_large"
    assert read_image(path, max_bytes=len(data)).shape == (48, 64, 3)


def test_upload_limit_is_counted_in_decimal_megabytes_like_the_browser():
    # Streamlit's uploader refuses files over maxUploadSize * 1,000,000 bytes; the reader's
    # default limit is that same number, and a file just over it is explained exactly.
    assert MAX_UPLOAD_BYTES == MAX_UPLOAD_MB * 1_000_000
    assert f"{MAX_UPLOAD_MB} MB" == UPLOAD_LIMIT_TEXT
    png = encode_png(gradient())
    at_limit = png + bytes(MAX_UPLOAD_BYTES - len(png))  # trailing bytes after IEND
    assert read_image(at_limit).shape == (48, 64, 3)
    error = read_error(at_limit + b"\0")
    assert error.reason == "too_large"
    assert f"{MAX_UPLOAD_BYTES + 1:,} bytes" in str(error)
    assert f"{MAX_UPLOAD_BYTES:,} bytes" in str(error)
    assert "(the limit is 20.0 MB" in str(read_error(bytes(21_000_000)))


def test_size_limit_reads_at_most_max_bytes_plus_one():
    class CountingReader(io.BytesIO):
        def __init__(self, data: bytes) -> None:
            super().__init__(data)
            self.requested: list[int] = []

        def read(self, size=-1):
            self.requested.append(size)
            return super().read(size)

    reader = CountingReader(b"\xff\xd8\xff" + bytes(10_000))
    assert read_error(reader, max_bytes=1000).reason == "too_large"
    assert reader.requested == [1001]


@pytest.mark.parametrize("shape", [(10, 10), (31, 200), (200, 20)])
def test_tiny_images_are_invalid(shape):
    with pytest.raises(InvalidImageError) as info:
        read_image(encode_png(gradient(*shape)))
    assert info.value.reason == "too_small"
    assert f"{shape[1]} × {shape[0]}" in str(info.value)


def test_min_side_is_inclusive():
    assert read_image(encode_png(gradient(32, 32))).shape == (32, 32, 3)


SIGNATURES = (b"", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"II*\x00", b"MM\x00*", b"BM")
SIGNATURES += (b"RIFF\x00\x01\x00\x00WEBPVP8 ",)


@pytest.mark.filterwarnings("ignore::UserWarning:PIL.*")
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    prefix=st.sampled_from(SIGNATURES),
    tail=st.binary(max_size=2048),
)
def test_arbitrary_bytes_never_crash(prefix, tail):
    data = prefix + tail
    try:
        image = read_image(data)
    except SkinappError:
        return
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3


@pytest.mark.filterwarnings("ignore::UserWarning:PIL.*")  # Pillow's notes on broken files
@settings(max_examples=40, deadline=None)
@given(
    position=st.integers(0, 10_000),
    value=st.integers(0, 255),
    fmt=st.sampled_from(["PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP"]),
)
def test_corrupted_images_never_crash(position, value, fmt):
    data = bytearray(encode(Image.fromarray(gradient(40, 40)), fmt))
    data[position % len(data)] = value
    try:
        image = read_image(bytes(data))
    except SkinappError:
        return
    assert_rgb(image, image.shape[:2])


# === Output ===


def photo_with_metadata() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "SecretCamMaker"  # Make
    exif[0x0131] = "SecretSoftware"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (48.0, 51.0, 29.0)  # GPSLatitudeRef, GPSLatitude
    gps[3], gps[4] = "E", (2.0, 17.0, 40.0)
    return encode(Image.fromarray(gradient()), "JPEG", exif=exif, quality=95)


def test_input_has_the_metadata_we_test_for():
    data = photo_with_metadata()
    assert b"SecretCamMaker" in data
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)


@pytest.mark.parametrize("encoder", [encode_png, encode_jpeg])
def test_output_files_carry_no_metadata(encoder):
    image = read_image(photo_with_metadata())
    data = encoder(image)
    assert b"SecretCam" not in data and b"SecretSoftware" not in data
    assert b"Exif" not in data
    reopened = Image.open(io.BytesIO(data))
    assert not reopened.getexif()
    assert "exif" not in reopened.info and "icc_profile" not in reopened.info


def test_encode_round_trips():
    image = gradient()
    np.testing.assert_array_equal(read_image(encode_png(image)), image)
    assert np.abs(read_image(encode_jpeg(image, quality=95)).astype(int) - image).max() <= 8
    assert len(encode_jpeg(image, quality=10)) < len(encode_jpeg(image, quality=95))


@pytest.mark.parametrize("quality", [0, 96, 90.0, True])
def test_encode_jpeg_rejects_bad_quality(quality):
    with pytest.raises(ValueError, match="quality"):
        encode_jpeg(gradient(), quality=quality)


@pytest.mark.parametrize(
    "bad",
    [np.zeros((8, 8), np.uint8), np.zeros((8, 8, 4), np.uint8), np.zeros((8, 8, 3)), [[0]]],
)
def test_check_image_rejects_non_rgb_uint8(bad):
    with pytest.raises(InvalidImageError, match=r"\(H, W, 3\)"):
        check_image(bad)
    with pytest.raises(InvalidImageError):
        encode_png(bad)


# === Downscaling ===


def test_downscale_keeps_aspect():
    image = gradient(300, 400)
    out = downscale_max_side(image, 100)
    assert out.shape == (75, 100, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(image, gradient(300, 400))  # input untouched


def test_downscale_is_a_copy_when_small():
    image = gradient(30, 40)
    out = downscale_max_side(image, 40)
    np.testing.assert_array_equal(out, image)
    assert out is not image and not np.shares_memory(out, image)


@pytest.mark.parametrize("max_side", [0, -5, 10.5, True])
def test_downscale_rejects_bad_max_side(max_side):
    with pytest.raises(ValueError, match="max_side"):
        downscale_max_side(gradient(), max_side)


@settings(max_examples=30, deadline=None)
@given(height=st.integers(1, 300), width=st.integers(1, 300), max_side=st.integers(1, 200))
def test_downscale_property(height, width, max_side):
    image = np.zeros((height, width, 3), np.uint8)
    out = downscale_max_side(image, max_side)
    scale = min(1.0, max_side / max(height, width))
    assert max(out.shape[:2]) == min(max_side, max(height, width))
    assert out.dtype == np.uint8
    for got, side in zip(out.shape[:2], (height, width), strict=True):
        assert got >= 1 and (got == 1 or abs(got - side * scale) <= 0.5 + 1e-9)


def test_iter_input_files_expands_folders_skips_hidden_and_excluded(tmp_path):
    from skinapp.io import iter_input_files

    (tmp_path / "in" / "sub").mkdir(parents=True)
    (tmp_path / "in" / ".git").mkdir()
    for name in ("in/b.jpg", "in/sub/a.png", "in/.DS_Store", "in/.git/x", "in/out.png"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "in" / "masks").mkdir()
    (tmp_path / "in" / "masks" / "m.png").write_bytes(b"x")
    got = list(
        iter_input_files([tmp_path / "in", tmp_path / "nope"], exclude=tmp_path / "in" / "masks")
    )
    names = [p.relative_to(tmp_path).as_posix() for p, _ in got]
    assert names == ["in/b.jpg", "in/out.png", "in/sub/a.png", "nope"]
    assert [e for _, e in got] == ["", "", "", "no such file or folder"]
