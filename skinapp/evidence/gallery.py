"""Gallery of the model's most confident correct calls and most confident misses on test.

For every (diagnosis, dataset) cell the ``k`` most confident images of each applicable kind
are kept: missed malignant lesions (lowest probability below the operating threshold: false
negatives, shown first), false alarms (benign with the highest probability), and correct
calls at both ends. Each gets a small metadata-free JPEG of the photo and of its heat map
(the app's Grad-CAM of the malignant log-odds) for the dashboard. ``gallery.csv`` is
committed with the model; the thumbnails are patient photos, made locally from the user's copy
of the data, and only a few whose licence allows it are shipped (:func:`shippable`: CC0, or
CC BY-NC 4.0 with attribution, in this non-commercial project; the rest stay out through
``.gitignore``). PH2 images are always left out.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from skinapp.io import downscale_max_side, encode_jpeg, read_image
from skinapp.model.data import image_path
from skinapp.model.preprocessing import prepare_model_input

GALLERY_DIR = "gallery"
GALLERY_CSV = "gallery.csv"
THUMB_SIDE = 160
EXCLUDED_DATASETS = ("PH2",)
KIND_ORDER = ("false_negative", "false_positive", "true_positive", "true_negative")
KIND_TEXT = {
    "false_negative": "missed malignant (false negative)",
    "false_positive": "false alarm (benign called malignant)",
    "true_positive": "malignant, correctly called",
    "true_negative": "benign, correctly called",
}
ATTRIBUTION = {
    "HAM10000": "HAM10000: Tschandl, Rosendahl & Kittler, Sci. Data 5:180161 (2018), ISIC archive",
    "ISIC2017": "ISIC 2017 challenge: Codella et al., ISBI 2018 (arXiv:1710.05006), ISIC archive",
    "ISIC_ARCHIVE": "ISIC archive",
}


def select_gallery(
    preds: pd.DataFrame,
    operating: float,
    *,
    k: int = 3,
    exclude_datasets: tuple[str, ...] = EXCLUDED_DATASETS,
) -> pd.DataFrame:
    """Pick the gallery rows from the test predictions.

    Parameters
    ----------
    preds : DataFrame
        ``image_id, dx, label, dataset, p_malignant`` per test image.
    operating : float
        Threshold on ``p_malignant`` (malignant when ``p >= operating``).
    k : int
        Images per (diagnosis, dataset, kind).

    Returns
    -------
    DataFrame
        The selected rows with ``kind`` (see :data:`KIND_ORDER`) and ``confidence``
        (``p`` for calls of malignant, ``1 - p`` for calls of benign), false negatives first.
    """
    frame = preds[~preds["dataset"].isin(exclude_datasets)].copy()
    malignant = frame["label"] == "malignant"
    called = frame["p_malignant"] >= operating
    frame["kind"] = np.select(
        [malignant & ~called, ~malignant & called, malignant & called],
        ["false_negative", "false_positive", "true_positive"],
        "true_negative",
    )
    frame["confidence"] = np.where(called, frame["p_malignant"], 1 - frame["p_malignant"])
    frame = frame.sort_values("confidence", ascending=False, kind="stable")
    picked = frame.groupby(["dx", "dataset", "kind"], sort=False).head(k)
    order = {kind: i for i, kind in enumerate(KIND_ORDER)}
    picked = picked.assign(_kind=picked["kind"].map(order))
    picked = picked.sort_values(["_kind", "confidence"], ascending=[True, False], kind="stable")
    return picked.drop(columns="_kind").reset_index(drop=True)


def _thumb(image: np.ndarray, side: int = THUMB_SIDE) -> np.ndarray:
    """Shrink so the long side is ``side`` pixels (aspect kept)."""
    return downscale_max_side(image, side)


def heatmap_overlay(classifier, image: np.ndarray) -> np.ndarray:
    """The app's heat-map overlay of one photo (Grad-CAM of the malignant log-odds)."""
    from skinapp.analysis import overlay_heatmap

    logits, features = classifier.run(prepare_model_input(image, classifier.input_spec)[None])
    probs = np.exp(logits[0] - logits[0].max())
    cam = classifier.heatmap(features[0], probs / probs.sum())
    return overlay_heatmap(image, cam)


def write_gallery(
    model_dir: str | Path,
    preds: pd.DataFrame,
    thresholds: Mapping[str, float],
    data_dir: str | Path,
    classifier,
    *,
    k: int = 3,
    licences: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Write ``gallery/<id>.jpg``, ``gallery/<id>_cam.jpg`` and ``gallery/gallery.csv``.

    Old gallery images are removed first so the folder holds exactly the current selection.
    ``licences`` (``image_id, license``) adds each image's licence to the table.
    """
    out = Path(model_dir) / GALLERY_DIR
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.jpg"):
        old.unlink()
    picked = select_gallery(preds, float(thresholds["operating"]), k=k)
    for image_id in picked["image_id"]:
        image = read_image(image_path(data_dir, image_id))
        (out / f"{image_id}.jpg").write_bytes(encode_jpeg(_thumb(image), quality=85))
        cam = heatmap_overlay(classifier, image)
        (out / f"{image_id}_cam.jpg").write_bytes(encode_jpeg(_thumb(cam), quality=85))
    if licences is not None and "license" in licences:
        picked = picked.merge(licences[["image_id", "license"]], on="image_id", how="left")
    else:
        picked["license"] = ""
    picked["attribution"] = picked["dataset"].map(ATTRIBUTION).fillna(picked["dataset"])
    picked["photo"] = picked["image_id"] + ".jpg"
    picked["heatmap"] = picked["image_id"] + "_cam.jpg"
    columns = [
        "image_id",
        "kind",
        "dx",
        "label",
        "dataset",
        "p_malignant",
        "grade",
        "confidence",
        "photo",
        "heatmap",
        "license",
        "attribution",
    ]
    table = picked[[c for c in columns if c in picked]].round({"p_malignant": 4, "confidence": 4})
    table.to_csv(out / GALLERY_CSV, index=False)
    return table


# === Thumbnails shipped with the app ===

#: Licences whose images may be redistributed as thumbnails in this non-commercial project
#: (CC BY-NC with the attribution shown next to each image).
SHIPPABLE_LICENCES = ("CC0", "CC BY-NC")
#: Thumbnails shipped per kind of call (a few: the repository stays small).
SHIPPED_PER_KIND = 2


def sample_ids() -> set[str]:
    """Image ids of the bundled samples (``skinapp/samples``): the only dataset photos the
    repository redistributes, so the only ones whose thumbnails are shipped."""
    return {p.stem for p in (Path(__file__).resolve().parents[1] / "samples").glob("*.jpg")}


def shippable(
    gallery: pd.DataFrame,
    per_kind: int = SHIPPED_PER_KIND,
    *,
    only: Collection[str] | None = None,
) -> pd.DataFrame:
    """The gallery rows whose thumbnails are shipped: per kind, up to ``per_kind`` images
    with a redistributable licence (and an id in ``only``, when given), CC0 first, then in
    the table's (confidence) order.

    Examples
    --------
    >>> g = pd.DataFrame({"image_id": list("abcd"), "kind": ["false_negative"] * 4,
    ...                   "license": ["CC BY-NC 4.0", "CC0 1.0", "proprietary", "CC0 1.0"]})
    >>> list(shippable(g)["image_id"])
    ['b', 'd']
    """
    licence = gallery["license"].fillna("").astype(str)
    ok = licence.str.startswith(SHIPPABLE_LICENCES)
    if only is not None:
        ok &= gallery["image_id"].isin(set(only))
    frame = gallery[ok].assign(_cc0=~licence[ok].str.startswith("CC0"))
    frame = frame.sort_values("_cc0", kind="stable")
    picked = frame.groupby("kind", sort=False).head(per_kind).drop(columns="_cc0")
    return picked.sort_index()


def write_shipped_thumbnails(
    model_dir: str | Path, data_dir: str | Path, classifier, *, per_kind: int = SHIPPED_PER_KIND
) -> list[str]:
    """Write the photo and heat-map thumbnails (long side :data:`THUMB_SIDE`, metadata-free
    JPEG) of :func:`shippable` rows of ``gallery/gallery.csv``; returns the file names (to be
    listed as exceptions in ``.gitignore``)."""
    out = Path(model_dir) / GALLERY_DIR
    gallery = pd.read_csv(out / GALLERY_CSV)
    names = []
    for row in shippable(gallery, per_kind, only=sample_ids()).itertuples():
        image = read_image(image_path(data_dir, row.image_id))
        (out / row.photo).write_bytes(encode_jpeg(_thumb(image), quality=80))
        cam = heatmap_overlay(classifier, image)
        (out / row.heatmap).write_bytes(encode_jpeg(_thumb(cam), quality=80))
        names += [row.photo, row.heatmap]
    return names


if __name__ == "__main__":  # python -m skinapp.evidence.gallery DATA_DIR [MODEL_DIR]
    import sys

    from skinapp.serving import Classifier

    model = Path(sys.argv[2] if len(sys.argv) > 2 else "models")
    for name in write_shipped_thumbnails(model, sys.argv[1], Classifier(model)):
        print(f"!models/gallery/{name}")
