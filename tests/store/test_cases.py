"""Case store behaviour, on SQLite and PostgreSQL (see conftest.py).

Behaviours: a visit round-trips (fields, descriptors, outline, image bytes); the schema is
created on first use at the head revision and reopening is a no-op; patients are listed and
searched; erasing a patient removes its rows and image bytes (on SQLite, from the files too)
and leaves other patients; an export holds a CSV row and a JPEG per visit; the stored image
carries no metadata; a real analysis becomes a visit.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile

import pytest
from PIL import Image

from skinapp.analysis import AnalysisSettings, analyze
from skinapp.io import read_image
from skinapp.store import CaseInputError, StoreError, new_visit, open_store
from skinapp.store.cases import EXPORT_COLUMNS
from skinapp.store.db import head_revision, schema_revision
from tests.fakes import FakeClassifier, benign_differential
from tests.store.helpers import make_visit


def test_visit_round_trips(store):
    saved = make_visit(p=0.61, grade=2, colors={"black": 0.3, "dark_brown": 0.7})
    visit_id = store.save_visit(saved)

    [visit] = store.visits("P-0001")
    assert visit.id == visit_id
    assert (visit.pseudonym, visit.lesion_id, visit.body_site) == ("P-0001", "L1", "back")
    assert visit.visit_date == dt.date(2024, 1, 15)
    assert visit.created_at == saved.created_at
    assert (visit.p_malignant, visit.grade, visit.label) == (0.61, 2, "malignant")
    assert visit.mm_per_pixel == 0.05
    assert visit.image_size == saved.image_size
    assert visit.descriptors == saved.descriptors
    assert visit.settings == saved.settings
    assert visit.contour == saved.contour
    assert store.image(visit_id) == saved.image


def test_schema_is_created_on_first_use_and_reopening_is_idempotent(store, store_config_any):
    assert schema_revision(store.engine) == head_revision() == "0004"
    store.save_visit(make_visit())
    again = open_store(store_config_any)
    try:
        assert schema_revision(again.engine) == "0004"
        assert again.count() == (1, 1)
    finally:
        again.dispose()


def test_patients_lesions_and_visits_are_listed_in_order(store):
    store.save_visit(make_visit("P-0002", "L2", dt.date(2024, 3, 1)))
    store.save_visit(make_visit("P-0002", "L1", dt.date(2024, 5, 1)))
    store.save_visit(make_visit("P-0002", "L1", dt.date(2024, 1, 1)))
    store.save_visit(make_visit("Q-0100", "L1"))
    assert store.patients() == ["P-0002", "Q-0100"]
    assert store.patients("p-00") == ["P-0002"]
    assert store.patients("%") == []  # LIKE wildcards are literal
    assert store.lesions("P-0002") == ["L1", "L2"]
    dates = [v.visit_date.month for v in store.visits("P-0002", "L1")]
    assert dates == [1, 5]
    assert store.visits("nobody") == []


def test_erase_removes_rows_and_images_of_one_patient_only(store):
    erased = make_visit("P-ERASE", seed=1)
    for day in (1, 2):
        store.save_visit(make_visit("P-ERASE", visit_date=dt.date(2024, 2, day), seed=1))
    kept = make_visit("P-KEEP", seed=2)
    kept_id = store.save_visit(kept)

    assert store.erase_patient("P-ERASE") == 2
    assert store.visits("P-ERASE") == []
    assert store.patients() == ["P-KEEP"]
    assert store.count() == (1, 1)
    assert store.image(kept_id)
    if store.engine.dialect.name == "sqlite":
        # secure_delete + WAL truncation: the photo's bytes are gone from the files.
        folder = store.config.data_dir
        raw = b"".join(p.read_bytes() for p in folder.iterdir())
        middle = len(erased.image) // 2  # entropy-coded pixels (headers are shared)
        assert erased.image[middle : middle + 64] not in raw
        assert b"P-ERASE" not in raw
        kept_middle = len(kept.image) // 2  # the check can see bytes that are there
        assert kept.image[kept_middle : kept_middle + 64] in raw


def test_image_of_an_erased_visit_is_a_clear_error(store):
    visit_id = store.save_visit(make_visit())
    store.erase_patient("P-0001")
    with pytest.raises(StoreError, match="not in the case history"):
        store.image(visit_id)


def test_export_has_a_csv_row_and_an_image_per_visit(store):
    first = make_visit(visit_date=dt.date(2024, 1, 1))
    second = make_visit(visit_date=dt.date(2024, 7, 1), radius=26, grade=2, p=0.4)
    store.save_visit(first)
    store.save_visit(second)
    store.save_visit(make_visit("OTHER"))

    archive = zipfile.ZipFile(io.BytesIO(store.export_patient("P-0001")))
    rows = list(csv.DictReader(io.StringIO(archive.read("visits.csv").decode())))
    assert tuple(rows[0].keys()) == EXPORT_COLUMNS
    assert [r["visit_date"] for r in rows] == ["2024-01-01", "2024-07-01"]
    assert {r["pseudonym"] for r in rows} == {"P-0001"}
    assert rows[1]["grade"] == "2"
    assert float(rows[1]["diameter_mm"]) == pytest.approx(2.6)
    images = sorted(n for n in archive.namelist() if n.startswith("images/"))
    assert images == sorted(r["image_file"] for r in rows)
    assert archive.read(rows[0]["image_file"]) == first.image


def test_export_of_an_unknown_patient_is_a_clear_error(store):
    with pytest.raises(StoreError, match="No visits"):
        store.export_patient("P-9999")


def test_stored_image_has_no_metadata(store):
    visit_id = store.save_visit(make_visit())
    with Image.open(io.BytesIO(store.image(visit_id))) as img:
        assert img.format == "JPEG"
        assert not img.getexif()
        assert "icc_profile" not in img.info
        assert "exif" not in img.info


@pytest.mark.parametrize(
    ("field", "value"),
    [("pseudonym", ""), ("pseudonym", "x" * 65), ("pseudonym", "<script>"), ("lesion_id", " ")],
)
def test_invalid_form_fields_are_refused_with_the_field_named(field, value, sample_paths):
    analysis = _analysis(sample_paths[0])
    kwargs = {"pseudonym": "P-1", "lesion_id": "L1", field: value}
    with pytest.raises(CaseInputError) as err:
        new_visit(analysis, model_version="v", **kwargs)
    assert err.value.field == field


def test_future_visit_date_is_refused(sample_paths):
    with pytest.raises(CaseInputError, match="future"):
        new_visit(
            _analysis(sample_paths[0]),
            pseudonym="P-1",
            lesion_id="L1",
            visit_date=dt.date.today() + dt.timedelta(days=2),
            model_version="v",
        )


def test_an_analysis_becomes_a_stored_visit(store, sample_paths):
    analysis = _analysis(sample_paths[1])
    visit = new_visit(
        analysis,
        pseudonym=" P-0042 ",
        lesion_id="back-3",
        body_site="back",
        visit_date=dt.date(2024, 6, 1),
        model_version="abc123",
    )
    store.save_visit(visit)
    [saved] = store.visits("P-0042", "back-3")
    assert saved.p_malignant == pytest.approx(analysis.prediction.p_malignant)
    assert saved.grade == analysis.prediction.grade
    assert saved.image_size == (analysis.image.shape[1], analysis.image.shape[0])
    assert saved.settings == analysis.settings.to_dict()
    assert saved.mm_per_pixel == pytest.approx(analysis.mm_per_pixel)
    assert len(saved.contour) >= 3
    assert read_image(store.image(saved.id)).shape == analysis.image.shape


_ANALYSES: dict = {}


def _analysis(path):
    if path not in _ANALYSES:
        settings = AnalysisSettings(mm_per_pixel=0.03)
        _ANALYSES[path] = analyze(read_image(path), settings, FakeClassifier(p=0.3, grade=1))
    return _ANALYSES[path]


def test_the_differential_is_stored_with_the_visit_and_exported(store, sample_paths):
    from skinapp.store.records import visit_differential_text

    diff = benign_differential()
    analysis = analyze(
        read_image(sample_paths[0]),
        AnalysisSettings(),
        FakeClassifier(p=0.08, grade=2, differential=diff, n_views=8),
    )
    store.save_visit(new_visit(analysis, pseudonym="P-7", lesion_id="L1", model_version="v"))
    [saved] = store.visits("P-7", "L1")
    assert saved.differential["top"] == "nv" and saved.differential["answer"] == "8-view TTA"
    assert saved.differential["probs"]["nv"] == pytest.approx(0.75)
    text = visit_differential_text(saved)
    assert text.startswith("melanocytic nevus (mole) 75% (top call)")
    assert "seborrheic keratosis / benign keratosis 12%" in text
    rows = list(
        csv.DictReader(
            io.StringIO(
                zipfile.ZipFile(io.BytesIO(store.export_patient("P-7"))).read("visits.csv").decode()
            )
        )
    )
    assert rows[0]["differential"] == text
    # a visit saved without a differential (older model or files) still reads back
    store.save_visit(make_visit(pseudonym="P-8"))
    [old] = store.visits("P-8")
    assert old.differential is None and visit_differential_text(old) == ""


def test_a_photo_that_is_not_a_lesion_cannot_be_saved(sample_paths):
    import dataclasses

    analysis = _analysis(sample_paths[0])
    not_lesion = dataclasses.replace(
        analysis, prediction=dataclasses.replace(analysis.prediction, ood=True)
    )
    with pytest.raises(CaseInputError, match="not a dermoscopic image") as err:
        new_visit(not_lesion, pseudonym="P-1", lesion_id="L1", model_version="v")
    assert err.value.field == "photo"
