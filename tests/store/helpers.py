"""Hand-made visits for the store tests (no model, no segmentation needed)."""

from __future__ import annotations

import datetime as dt

import cv2
import numpy as np

from skinapp.io import encode_jpeg
from skinapp.store.records import NewVisit


def lesion_photo(radius: int = 20, size: tuple[int, int] = (120, 160), seed: int = 0):
    """A skin-coloured photo with a dark disc, and the disc's outline ``(N, 2)``."""
    rng = np.random.default_rng(seed)
    h, w = size
    image = np.full((h, w, 3), (205, 160, 140), np.uint8)
    image = np.clip(image + rng.normal(0, 4, image.shape), 0, 255).astype(np.uint8)
    cv2.circle(image, (w // 2, h // 2), radius, (90, 50, 40), -1)
    mask = np.zeros((h, w), np.uint8)
    cv2.circle(mask, (w // 2, h // 2), radius, 1, -1)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return image, contours[0].reshape(-1, 2)


def make_visit(
    pseudonym: str = "P-0001",
    lesion_id: str = "L1",
    visit_date: dt.date = dt.date(2024, 1, 15),
    *,
    p: float = 0.2,
    grade: int = 1,
    radius: int = 20,
    mm_per_pixel: float | None = 0.05,
    colors: dict[str, float] | None = None,
    seed: int = 0,
) -> NewVisit:
    image, contour = lesion_photo(radius, seed=seed)
    area_px = int(np.pi * radius**2)
    shares = colors or {"dark_brown": 0.9, "light_brown": 0.1}
    descriptors = {
        "area_px": area_px,
        "diameter_px": 2.0 * radius,
        "asymmetry": 0.1,
        "color_shares": shares,
        "colors": [c for c, s in shares.items() if s >= 0.05],
        "color_count": sum(s >= 0.05 for s in shares.values()),
        "mm_per_pixel": mm_per_pixel,
        "area_mm2": None if mm_per_pixel is None else area_px * mm_per_pixel**2,
        "diameter_mm": None if mm_per_pixel is None else 2.0 * radius * mm_per_pixel,
    }
    return NewVisit(
        pseudonym=pseudonym,
        lesion_id=lesion_id,
        body_site="back",
        visit_date=visit_date,
        created_at=dt.datetime(2024, 1, 15, 10, 30, tzinfo=dt.UTC),
        model_version="test00000000",
        p_malignant=p,
        grade=grade,
        label="malignant" if p >= 0.5 else "benign",
        mm_per_pixel=mm_per_pixel,
        image_size=(image.shape[1], image.shape[0]),
        descriptors=descriptors,
        settings={"classify_preprocessed": False},
        contour=contour.tolist(),
        image=encode_jpeg(image, quality=90),
    )
