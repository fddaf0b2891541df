"""``python -m skinapp.predict PATH... --out preds.csv``: classify many images.

PATH may be image files, folders of images (searched recursively; files are recognised by
content, whatever their extension), or a folder in the derm layout (``metadata.csv`` with an
``image_id`` column + ``images/``). One CSV row per input:

``image_id, p_malignant, prediction, grade, ood_score, ood, error, dx, p_akiec, p_bcc,
p_bkl, p_df, p_mel, p_nv, p_vasc, unusual``

``p_malignant`` is calibrated; ``grade`` is the risk grade 1–3 (not a cancer stage), the
answer; ``prediction`` is the binary call at the operating threshold (``benign`` or
``malignant``, for tools that need one word; the app shows the grade instead). ``dx`` is the
top call of the differential diagnosis (one of ``akiec bcc bkl df mel nv vasc``, chosen to be
fair to rare diagnoses; never a malignant class in grade 1) and ``p_akiec … p_vasc`` its
calibrated probabilities (summing to 1; ``p_akiec + p_bcc + p_mel`` equals ``p_malignant``),
from ``differential.json`` (empty without it).

One view per image by default (the single-view calibration, ``metrics.json``, and the
single-view differential map; fast enough for archives); ``--tta`` gives the app's answer,
the 8-view test-time augmentation mean under its own calibration (``trust.json``) and its own
differential map, about 8 times slower. Every column describes the answer of the mode used.
``ood`` is 1 when the image is not a dermoscopic image of a skin lesion: the app would show
no grade for it (``p_malignant`` and ``grade`` are still written, for completeness; do not use
them). ``ood_score`` is that check's score (above 0 means ``ood``). ``unusual`` is 1 for a
lesion unlike the training photos: the app shows the grade with a caution and a wider
interval. The three come from :func:`skinapp.trust.decision.decide`, as on every page, and are
empty when the model folder has no ``ood.npz``. A file that
cannot be read gets an empty probability and its reason in ``error``; the batch goes on.
Memory stays bounded: images are decoded and classified in small batches, and decompression
bombs are refused before decoding.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Iterator
from pathlib import Path

#: The diagnosis classes of the ``p_*`` columns, in the model's order.
DX_CLASSES = ("akiec", "bcc", "bkl", "df", "mel", "nv", "vasc")
COLUMNS = (
    "image_id",
    "p_malignant",
    "prediction",
    "grade",
    "ood_score",
    "ood",
    "error",
    "dx",
    *(f"p_{c}" for c in DX_CLASSES),
    "unusual",
)
BATCH_SIZE = 32


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m skinapp.predict",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders")
    p.add_argument("--out", required=True, help="CSV file to write")
    p.add_argument("--model-dir", default=None, help="model folder (default: shipped models/)")
    p.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    p.add_argument(
        "--tta",
        action="store_true",
        help="the app's answer: mean of 8 flips/quarter turns (about 8x slower); without it "
        "every column (p_malignant, grade, dx, p_*) is the single-view answer",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def iter_inputs(paths: list[str]) -> Iterator[tuple[str, Path | None, str]]:
    """Yield ``(image_id, path, error)`` for every input, in a stable order."""
    from skinapp.io import iter_input_files

    for raw in paths:
        path = Path(raw)
        if path.is_dir() and (path / "metadata.csv").is_file() and (path / "images").is_dir():
            yield from _iter_metadata_folder(path)
            continue
        for file, error in iter_input_files([path]):
            yield file.stem, None if error else file, f"{error}: {raw}" if error else ""


def _iter_metadata_folder(folder: Path) -> Iterator[tuple[str, Path | None, str]]:
    import pandas as pd

    from skinapp.model.data import image_path

    meta = pd.read_csv(folder / "metadata.csv", dtype={"image_id": str})
    if "image_id" not in meta.columns:
        yield folder.name, None, f"{folder / 'metadata.csv'} has no image_id column"
        return
    for image_id in meta["image_id"]:
        try:
            yield image_id, image_path(folder, image_id), ""
        except FileNotFoundError as err:
            yield image_id, None, str(err)


def _chunks(items: Iterator, size: int) -> Iterator[list]:
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def predict_rows(
    classifier, inputs: Iterator, batch_size: int = BATCH_SIZE, *, tta: bool = False
) -> Iterator[dict]:
    """Classify ``(image_id, path, error)`` items in batches; yield one CSV row each.

    ``tta=True`` gives the app's answer: the mean of the eight flips/quarter turns under the
    calibration refitted for it (``Classifier.predict(image, tta=True)``).
    """
    from skinapp.errors import SkinappError
    from skinapp.io import read_image
    from skinapp.trust.decision import decide

    for chunk in _chunks(inputs, batch_size):
        rows = [
            {**dict.fromkeys(COLUMNS, ""), "image_id": image_id, "error": error}
            for image_id, _, error in chunk
        ]
        images, decoded = [], []
        for row, (_, path, error) in zip(rows, chunk, strict=True):
            if error:
                continue
            try:
                images.append(read_image(path))
                decoded.append(row)
            except SkinappError as err:
                row["error"] = str(err)
            except OSError as err:
                row["error"] = f"cannot read file: {err.strerror or err}"
        for row, pred in zip(decoded, classifier.predict_batch(images, tta=tta), strict=True):
            row.update(
                p_malignant=f"{pred.p_malignant:.5f}", prediction=pred.label, grade=pred.grade
            )
            if pred.ood_score is not None:
                decision = decide(pred)
                row.update(
                    ood_score=f"{pred.ood_score:.4f}",
                    ood=int(decision.not_a_lesion),
                    unusual=int(decision.unusual),
                )
            if pred.differential is not None:
                row["dx"] = pred.differential.top
                row.update(
                    {f"p_{c}": f"{pred.differential.probs.get(c, 0.0):.5f}" for c in DX_CLASSES}
                )
        yield from rows


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from rich.progress import Progress

    from skinapp.errors import SkinappError
    from skinapp.serving import Classifier

    try:
        classifier = Classifier(args.model_dir)
    except SkinappError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    inputs = list(iter_inputs(args.paths))
    n_ok = n_err = 0
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as handle, Progress(disable=args.no_progress) as progress:
        task = progress.add_task("classifying", total=len(inputs))
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        for row in predict_rows(classifier, iter(inputs), args.batch_size, tta=args.tta):
            writer.writerow(row)
            n_err += bool(row["error"])
            n_ok += not row["error"]
            progress.advance(task)
    print(f"{n_ok} images classified, {n_err} errors; results in {out}", file=sys.stderr)
    return 0 if n_ok else 2


if __name__ == "__main__":
    sys.exit(main())
