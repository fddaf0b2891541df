"""``python -m skinapp.segment PATH... --out DIR``: write a lesion mask for every image.

PATH may be image files or folders (searched recursively, every file is tried; images are
recognised by their content, whatever their extension). For each image a mask is written
as ``DIR/<file name without extension>.png``: 8-bit greyscale, 0 = skin, 255 = lesion, with
the width and height of the decoded image (EXIF orientation applied, as the app shows it).
An image in which no lesion stands out gets an all-zero mask. If two inputs share a file
name, the later ones get ``_2``, ``_3``, ... appended (reported on stderr).

Files that cannot be read are reported on stderr, one line each with the reason, and the
batch goes on. ``DIR/config.json`` records the command, the parameters and the counts.
Exit code 0 when at least one image was segmented, 2 otherwise.

By default the learned segmenter draws the outline (``--method learned``: the MobileNetV2
U-Net in ``MODEL_DIR/segmenter.tflite``, see :mod:`skinapp.vision.learned`; probability map
upsampled to the photo's size, val-tuned threshold, no convex hull). Without that file the
classical method is used and a note says so. With ``--method classical``, hair removal
(:func:`skinapp.vision.hair.remove_hair`) runs before segmentation unless
``--no-hair-removal`` is given (the default is the setting that scored better on the
train/val masks, see ``models/segmentation_metrics.json``).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

logger = logging.getLogger(__name__)

#: Default of ``--hair-removal``: hair removal before segmentation scored a higher mean
#: Jaccard index on the train/val masks (models/segmentation_metrics.json).
HAIR_REMOVAL_DEFAULT = True


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m skinapp.segment",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders")
    parser.add_argument("--out", required=True, type=Path, help="folder for the mask PNGs")
    parser.add_argument(
        "--method",
        choices=("learned", "classical"),
        default="learned",
        help="learned: the MobileNetV2 U-Net in MODEL_DIR/segmenter.tflite (the classical "
        "method is used, with a note, when it is missing); classical: image processing "
        "(default: learned)",
    )
    parser.add_argument(
        "--model-dir",
        type=Path,
        default=None,
        help="folder with segmenter.tflite and segmenter.json (default: SKINAPP_MODEL_DIR "
        "or the repository's models/)",
    )
    parser.add_argument(
        "--hair-removal",
        action=argparse.BooleanOptionalAction,
        default=HAIR_REMOVAL_DEFAULT,
        help="classical method: paint out hairs before segmenting "
        f"(default: {HAIR_REMOVAL_DEFAULT})",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="accepted for uniformity; segmentation is deterministic"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def mask_png(mask: np.ndarray) -> bytes:
    """Encode an (H, W) bool mask as an 8-bit greyscale PNG (0 = skin, 255 = lesion)."""
    ok, encoded = cv2.imencode(".png", mask.astype(np.uint8) * 255)
    if not ok:  # pragma: no cover - cv2 encodes any uint8 2-D array
        raise RuntimeError("PNG encoding failed")
    return encoded.tobytes()


def main(argv: Sequence[str] | None = None) -> int:
    """Segment every input and write the masks; return 0 if any image was done, else 2."""
    args = build_parser().parse_args(argv)
    from rich.console import Console
    from rich.progress import Progress

    from skinapp.errors import SkinappError
    from skinapp.io import iter_input_files, read_image
    from skinapp.vision.hair import HairRemovalParams, remove_hair
    from skinapp.vision.learned import outline_lesion
    from skinapp.vision.segment import SegmentParams

    console = Console(stderr=True, highlight=False, soft_wrap=True)
    out: Path = args.out
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        console.print(f"[red]Cannot create the output folder {out}: {err.strerror or err}[/red]")
        return 2
    seg_params, hair_params = SegmentParams(method=args.method), HairRemovalParams()
    segmenter = None
    if args.method == "learned":
        from skinapp.serving import default_model_dir
        from skinapp.vision.learned import FALLBACK_NOTE, load_segmenter

        try:
            segmenter = load_segmenter(args.model_dir or default_model_dir())
        except SkinappError as err:
            console.print(f"[red]{err}[/red]")
            return 2
        if segmenter is None:
            console.print(FALLBACK_NOTE, markup=False)
    files = list(iter_input_files(args.paths, exclude=out))
    used: set[str] = set()
    counts = {"segmented": 0, "unreadable": 0, "no_lesion": 0, "touches_border": 0}
    with Progress(console=console, disable=args.no_progress, transient=True) as progress:
        task = progress.add_task("Segmenting", total=len(files))
        for path, error in files:
            progress.advance(task)
            if error:
                _report(console, path, error)
                counts["unreadable"] += 1
                continue
            try:
                image = read_image(path)
            except SkinappError as err:
                _report(console, path, str(err))
                counts["unreadable"] += 1
                continue
            except OSError as err:
                _report(console, path, f"cannot read the file: {err.strerror or err}")
                counts["unreadable"] += 1
                continue
            try:
                source = None
                if segmenter is None and args.hair_removal:
                    source = remove_hair(image, hair_params).image
                seg = outline_lesion(image, seg_params, segmenter, preprocessed=source)
            except Exception as err:  # one bad image must not stop the batch
                logger.debug("Segmentation of %s failed", path, exc_info=True)
                _report(console, path, f"segmentation failed: {type(err).__name__}: {err}")
                counts["unreadable"] += 1
                continue
            name = _unique_name(path.stem, used)
            if name != path.stem:
                console.print(
                    f"{path}: another input is also named {path.stem!r}; wrote {name}.png",
                    markup=False,
                )
            (out / f"{name}.png").write_bytes(mask_png(seg.mask))
            counts["segmented"] += 1
            counts["no_lesion"] += not seg.found
            counts["touches_border"] += seg.touches_border
    method = "learned" if segmenter is not None else "classical"
    _write_config(out, argv, args, seg_params, hair_params, counts, method, segmenter)
    console.print(
        f"{counts['segmented']} masks written to {out} ({counts['no_lesion']} with no lesion "
        f"found, {counts['touches_border']} touching the border); "
        f"{counts['unreadable']} files skipped."
    )
    return 0 if counts["segmented"] else 2


def _report(console, path: Path, reason: str) -> None:
    """One stderr line per skipped file: its path and why."""
    console.print(f"skipped {path}: {' '.join(reason.split())}", markup=False)


def _unique_name(stem: str, used: set[str]) -> str:
    name, k = stem, 1
    while name in used:
        k += 1
        name = f"{stem}_{k}"
    used.add(name)
    return name


def _write_config(
    out: Path, argv, args, seg_params, hair_params, counts, method, segmenter
) -> None:
    classical = method == "classical"
    config = {
        "command": "python -m skinapp.segment "
        + " ".join(sys.argv[1:] if argv is None else [str(a) for a in argv]),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "method": method,
        "segmenter": None
        if segmenter is None
        else {"file": str(segmenter.path), **dataclasses.asdict(segmenter.info)},
        "hair_removal": args.hair_removal,
        # hair removal runs only before the classical method (the learned one sees the photo)
        "hair_removal_applied": args.hair_removal and classical,
        "segment_params": dataclasses.asdict(seg_params),
        "hair_removal_params": dataclasses.asdict(hair_params)
        if args.hair_removal and classical
        else None,
        "counts": counts,
    }
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")


if __name__ == "__main__":
    from skinapp.logs import setup_logging

    setup_logging()
    sys.exit(main())
