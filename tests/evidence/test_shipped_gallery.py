"""The few gallery thumbnails shipped in models/gallery: licensed, small, metadata-free, shown.

Behaviours: every shipped JPEG belongs to a gallery.csv row of a bundled sample whose licence
allows it and is exactly :func:`shippable`'s pick; each is at most 160 px with no EXIF; they
stay few and small; the dashboard shows them with their licence and attribution and lists
the other cases in a table.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from skinapp.evidence.gallery import THUMB_SIDE, sample_ids, shippable

REPO = Path(__file__).resolve().parents[2]
GALLERY = REPO / "models" / "gallery"
SHIPPED = sorted(GALLERY.glob("*.jpg"))

pytestmark = pytest.mark.skipif(not SHIPPED, reason="no shipped thumbnails")


def test_shipped_thumbnails_are_the_licensed_pick_small_and_metadata_free():
    gallery = pd.read_csv(GALLERY / "gallery.csv")
    picked = shippable(gallery, only=sample_ids())
    expected = set(picked["photo"]) | set(picked["heatmap"])
    assert {p.name for p in SHIPPED} == expected
    assert picked["license"].str.startswith(("CC0", "CC BY-NC")).all()
    assert len(SHIPPED) <= 16 and sum(p.stat().st_size for p in SHIPPED) < 200_000
    for path in SHIPPED:
        with Image.open(path) as image:
            assert max(image.size) <= THUMB_SIDE
            assert not image.getexif() and "icc_profile" not in image.info


def test_the_dashboard_shows_the_shipped_thumbnails_with_licence_and_attribution():
    at = AppTest.from_file(str(REPO / "pages" / "dashboard.py"), default_timeout=60)
    at.session_state["dashboard.tab"] = "Evidence"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    captions = [c for image in at.image for c in image.captions]
    assert captions.count("photo") == len(SHIPPED) // 2
    text = " ".join(c.value for c in at.caption)
    shipped = shippable(pd.read_csv(GALLERY / "gallery.csv"), only=sample_ids())
    assert all(f"{row.image_id}, {row.license}" in text for row in shipped.itertuples())
    assert not any("thumbnails are not shipped" in i.value for i in at.info)
