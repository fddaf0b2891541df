"""Read a dataset in the layout of ``shared/data/derm`` (``metadata.csv`` + ``images/``).

Only ``image_id`` is required to predict; training and evaluation also need ``label``
(benign|malignant), ``dx`` (diagnosis) and the lesion-grouped ``split`` (train|val|test).
Images become model inputs through :func:`skinapp.model.preprocessing.prepare_model_input`,
the same function the app and ``predict`` use.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from skinapp.io import read_image
from skinapp.model.preprocessing import ModelInputSpec, prepare_model_input

logger = logging.getLogger(__name__)

MALIGNANT_DX = ("mel", "bcc", "akiec", "scc")
REQUIRED_COLUMNS = ("image_id", "label", "dx", "split")


def read_metadata(data_dir: str | Path) -> pd.DataFrame:
    """Load ``metadata.csv`` and check the columns training needs.

    Raises
    ------
    FileNotFoundError, ValueError
        With a message naming the missing file or columns.
    """
    path = Path(data_dir) / "metadata.csv"
    if not path.is_file():
        raise FileNotFoundError(f"No metadata.csv in {data_dir}: expected the derm data layout.")
    meta = pd.read_csv(path, dtype={"image_id": str, "lesion_id": str})
    missing = [c for c in REQUIRED_COLUMNS if c not in meta.columns]
    if missing:
        raise ValueError(f"metadata.csv lacks columns {missing}. Received: {list(meta.columns)}")
    bad = set(meta["label"]) - {"benign", "malignant"}
    if bad:
        raise ValueError(f"label must be benign|malignant. Received: {sorted(bad)}")
    return meta


def image_path(data_dir: str | Path, image_id: str) -> Path:
    """Path of an image in the derm layout (``images/<id>.jpg``, or any extension)."""
    base = Path(data_dir) / "images"
    path = base / f"{image_id}.jpg"
    if path.exists():
        return path
    matches = sorted(base.glob(f"{image_id}.*"))
    if not matches:
        raise FileNotFoundError(f"No image for image_id {image_id!r} in {base}")
    return matches[0]


def load_model_inputs(
    data_dir: str | Path,
    image_ids: Sequence[str],
    spec: ModelInputSpec,
    *,
    workers: int = 2,
) -> np.ndarray:
    """Decode and prepare images as model inputs.

    Returns
    -------
    ndarray
        ``(N, S, S, 3) uint8`` RGB, ``S = spec.size``.
    """
    out = np.empty((len(image_ids), spec.size, spec.size, 3), np.uint8)

    def load(i: int) -> None:
        out[i] = prepare_model_input(read_image(image_path(data_dir, image_ids[i])), spec)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(load, range(len(image_ids))))
    return out


def binary_labels(meta: pd.DataFrame) -> np.ndarray:
    """``(N,) int`` 1 for malignant, 0 for benign."""
    return (meta["label"].to_numpy() == "malignant").astype(np.int64)
