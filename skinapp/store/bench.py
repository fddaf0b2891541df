"""Measure the case store's image storage once: size of a stored photo (JPEG vs PNG) and
the time to save and read a visit with the photo in the database versus in a file beside it.

    python -m skinapp.store.bench --n 60 --out benchmarks/case_store.json

Uses the bundled samples upscaled to the working size (long side 1024 px, what a typical
upload is analysed at) and a throw-away SQLite store in a temporary folder.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2

from skinapp.io import encode_jpeg, encode_png, read_image
from skinapp.store.cases import open_store
from skinapp.store.config import store_config
from skinapp.store.records import IMAGE_QUALITY, NewVisit

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=60, help="visits saved per variant")
    parser.add_argument("--side", type=int, default=1024, help="long side of the photos (px)")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    return parser


def _photos(side: int) -> list:
    photos = []
    for path in sorted(SAMPLES.glob("*.jpg")):
        image = read_image(path)
        scale = side / max(image.shape[:2])
        size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
        photos.append(cv2.resize(image, size, interpolation=cv2.INTER_CUBIC))
    return photos


def _visit(image, data: bytes, i: int) -> NewVisit:
    return NewVisit(
        pseudonym=f"B-{i % 10}",
        lesion_id="L1",
        body_site="back",
        visit_date=dt.date(2024, 1, 1),
        created_at=dt.datetime.now(dt.UTC),
        model_version="bench",
        p_malignant=0.5,
        grade=2,
        label="malignant",
        mm_per_pixel=None,
        image_size=(image.shape[1], image.shape[0]),
        descriptors=None,
        settings={},
        contour=[],
        image=data,
    )


def _median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 2)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    photos = _photos(args.side)
    jpegs = [encode_jpeg(p, quality=IMAGE_QUALITY) for p in photos]
    pngs = [encode_png(p) for p in photos]
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(store_config({"SKINAPP_DATA_DIR": str(Path(tmp) / "db")}))
        files_dir = Path(tmp) / "images"
        files_dir.mkdir()
        save_db, read_db, save_files, read_files = [], [], [], []
        for i in range(args.n):
            k = i % len(photos)
            t0 = time.perf_counter()
            visit_id = store.save_visit(_visit(photos[k], jpegs[k], i))
            save_db.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            store.image(visit_id)
            read_db.append(time.perf_counter() - t0)
            # The alternative: the row without the photo, the photo in a file (fsync'd, as
            # SQLite syncs its commits).
            t0 = time.perf_counter()
            other_id = store.save_visit(_visit(photos[k], b"", i))
            path = files_dir / f"{other_id}.jpg"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, jpegs[k])
                os.fsync(fd)
            finally:
                os.close(fd)
            save_files.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            path.read_bytes()
            read_files.append(time.perf_counter() - t0)
        db_bytes = sum(f.stat().st_size for f in (Path(tmp) / "db").iterdir())
        store.dispose()
    results = {
        "command": "python -m skinapp.store.bench "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}",
        "photo_long_side_px": args.side,
        "photos": len(photos),
        "visits_per_variant": args.n,
        "mean_kb": {
            f"jpeg_q{IMAGE_QUALITY}": round(statistics.mean(map(len, jpegs)) / 1024, 1),
            "png": round(statistics.mean(map(len, pngs)) / 1024, 1),
        },
        "median_ms": {
            "save_visit_photo_in_db": _median_ms(save_db),
            "read_photo_from_db": _median_ms(read_db),
            "save_visit_photo_in_file": _median_ms(save_files),
            "read_photo_from_file": _median_ms(read_files),
        },
        "sqlite_files_mb_after_both_variants": round(db_bytes / 1024 / 1024, 2),
    }
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
