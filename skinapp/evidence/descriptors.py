"""ABCD descriptors of every image, computed the way the app computes them, cached as CSV.

``python -m skinapp.evidence.descriptors --data ../shared/data/derm`` writes
``runs/evidence/descriptors.csv`` (one row per image: segmentation box, ``found`` and the
numeric descriptors). The transparent baseline and the crop ablation read it. About 65 ms per
image on one core (colour constancy + hair removal, segmentation, description), so ~12 min
for 11k images on one core: run it once, niced.
"""

from __future__ import annotations

import argparse
import functools
import logging
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from skinapp.io import read_image
from skinapp.model.data import image_path, read_metadata
from skinapp.preprocess.pipeline import Pipeline, PipelineParams
from skinapp.vision.descriptors import describe_lesion
from skinapp.vision.learned import outline_lesion
from skinapp.vision.segment import SegmentParams

logger = logging.getLogger(__name__)

DEFAULT_CACHE = Path("runs/evidence/descriptors.csv")

#: Numeric descriptor columns used by the baseline (shape, border, colour, size).
DESCRIPTOR_COLUMNS = (
    "asymmetry",
    "asymmetry_major",
    "asymmetry_minor",
    "compactness",
    "fractal_dimension",
    "color_count",
    "color_white",
    "color_red",
    "color_light_brown",
    "color_dark_brown",
    "color_blue_gray",
    "color_black",
    "diameter_rel",
    "area_fraction",
    "touches_border",
)


@functools.lru_cache(maxsize=1)
def _segmenter():
    """The app's learned segmenter (one per process; None: the classical outline)."""
    from skinapp.serving import default_model_dir
    from skinapp.vision.learned import load_segmenter

    return load_segmenter(default_model_dir(), num_threads=1)


def lesion_record(image: np.ndarray) -> dict[str, Any]:
    """Segmentation box and ABCD descriptors of one RGB image, as the app computes them.

    The app's default pipeline (Shades of Gray colour constancy, hair removal) runs first; the
    lesion is outlined as in the app (:func:`~skinapp.vision.learned.outline_lesion`: the
    learned segmenter of ``SKINAPP_MODEL_DIR``/``models`` on the photo, else the classical
    method on the preprocessed image) and described on the preprocessed image. Sizes are
    relative to the long side, so images of different resolutions compare. Descriptors are
    NaN when no lesion is found.
    """
    piped = Pipeline(PipelineParams()).run(image)
    before_resize = [name for name in piped.steps if name != "resize"]
    preprocessed = piped.steps[before_resize[-1]]
    seg = outline_lesion(image, SegmentParams(), _segmenter(), preprocessed=preprocessed)
    x, y, w, h = seg.bbox
    long_side = float(max(image.shape[:2]))
    row: dict[str, Any] = {
        "found": int(seg.found),
        "bbox_x": x,
        "bbox_y": y,
        "bbox_w": w,
        "bbox_h": h,
        "height": image.shape[0],
        "width": image.shape[1],
        "area_fraction": float(seg.area_fraction),
        "touches_border": int(seg.touches_border),
    }
    nan_cols = [c for c in DESCRIPTOR_COLUMNS if c not in row]
    row.update(dict.fromkeys(nan_cols, np.nan))
    if not seg.found:
        return row
    d = describe_lesion(preprocessed, seg.mask)
    row.update(
        asymmetry=d.asymmetry,
        asymmetry_major=d.asymmetry_major,
        asymmetry_minor=d.asymmetry_minor,
        compactness=d.compactness,
        fractal_dimension=np.nan if d.fractal_dimension is None else d.fractal_dimension,
        color_count=d.color_count,
        diameter_rel=d.diameter_px / long_side,
        **{f"color_{k}": v for k, v in d.color_shares.items()},
    )
    return row


def _one(task: tuple[str, str]) -> dict[str, Any]:
    data_dir, image_id = task
    try:
        row = lesion_record(read_image(image_path(data_dir, image_id)))
    except Exception as err:  # one bad image must not stop a 10-minute job
        logger.warning("descriptors failed for %s: %s", image_id, err)
        row = {"found": 0}
    return {"image_id": image_id, **row}


def compute_descriptors(
    data_dir: str | Path, image_ids: Sequence[str], *, jobs: int = 1
) -> pd.DataFrame:
    """One :func:`lesion_record` row per image id (in order), optionally in ``jobs`` processes."""
    tasks = [(str(data_dir), i) for i in image_ids]
    if jobs <= 1:
        rows = [_one(t) for t in tasks]
    else:
        with ProcessPoolExecutor(jobs) as pool:
            rows = list(pool.map(_one, tasks, chunksize=32))
    return pd.DataFrame(rows)


def load_descriptors(
    data_dir: str | Path,
    image_ids: Sequence[str],
    cache: str | Path = DEFAULT_CACHE,
    *,
    jobs: int = 1,
) -> pd.DataFrame:
    """Descriptors for ``image_ids`` (row order kept), computing and caching the missing ones."""
    cache = Path(cache)
    have = pd.read_csv(cache, dtype={"image_id": str}) if cache.is_file() else pd.DataFrame()
    known = set(have["image_id"]) if not have.empty else set()
    todo = [i for i in dict.fromkeys(image_ids) if i not in known]
    if todo:
        logger.info("Computing descriptors of %d images (cache %s)", len(todo), cache)
        have = pd.concat([have, compute_descriptors(data_dir, todo, jobs=jobs)], ignore_index=True)
        cache.parent.mkdir(parents=True, exist_ok=True)
        have.to_csv(cache, index=False)
    table = have.drop_duplicates("image_id").set_index("image_id")
    return table.loc[list(image_ids)].reset_index()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m skinapp.evidence.descriptors", description=__doc__)
    p.add_argument("--data", required=True, help="folder with metadata.csv and images/")
    p.add_argument("--cache", default=str(DEFAULT_CACHE))
    p.add_argument("--jobs", type=int, default=2)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    meta = read_metadata(args.data)
    table = load_descriptors(args.data, list(meta["image_id"]), args.cache, jobs=args.jobs)
    print(f"{len(table)} images, lesion found in {int(table['found'].sum())}; cache {args.cache}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
