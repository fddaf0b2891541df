"""Clinician's notes per visit (revision 0002), on SQLite and PostgreSQL.

Behaviours: notes are saved with a visit and read back; they can be replaced later; too
long notes are refused with the field named; notes of an erased visit are a clear error;
an older (0001) SQLite store is upgraded in place and its visits get empty notes; the
export carries the notes.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import zipfile

import pytest
from alembic import command
from sqlalchemy import insert

from skinapp.store import CaseInputError, StoreError, open_store
from skinapp.store.config import store_config
from skinapp.store.db import _alembic_config, create_store_engine, head_revision, schema_revision
from skinapp.store.records import NOTES_MAX_CHARS, check_notes
from skinapp.store.schema import visits
from tests.store.helpers import make_visit


def test_notes_are_saved_with_a_visit_and_can_be_replaced(store):
    visit_id = store.save_visit(dataclasses.replace(make_visit(), notes="Itches since May."))
    assert store.visits("P-0001")[0].notes == "Itches since May."

    assert store.set_notes(visit_id, "  Excised 2024-02-01.  ") == "Excised 2024-02-01."
    assert store.visits("P-0001")[0].notes == "Excised 2024-02-01."


def test_a_visit_without_notes_reads_back_empty(store):
    store.save_visit(make_visit())
    assert store.visits("P-0001")[0].notes == ""


def test_too_long_notes_are_refused_with_the_field_named(store):
    visit_id = store.save_visit(make_visit())
    with pytest.raises(CaseInputError) as err:
        store.set_notes(visit_id, "x" * (NOTES_MAX_CHARS + 1))
    assert err.value.field == "notes"
    assert check_notes("x" * NOTES_MAX_CHARS) == "x" * NOTES_MAX_CHARS


def test_notes_of_an_erased_visit_are_a_clear_error(store):
    visit_id = store.save_visit(make_visit())
    store.erase_patient("P-0001")
    with pytest.raises(StoreError, match="not in the case history"):
        store.set_notes(visit_id, "late note")


def test_export_carries_the_notes(store):
    store.save_visit(dataclasses.replace(make_visit(), notes="Dermatologist: benign."))
    with zipfile.ZipFile(io.BytesIO(store.export_patient("P-0001"))) as archive:
        rows = list(csv.DictReader(io.StringIO(archive.read("visits.csv").decode())))
    assert rows[0]["notes"] == "Dermatologist: benign."


def test_an_older_store_is_upgraded_and_keeps_its_visits(tmp_path):
    config = store_config({"SKINAPP_DATA_DIR": str(tmp_path)})
    engine = create_store_engine(config)
    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    visit = make_visit()
    row = {
        k: getattr(visit, k)
        for k in ("pseudonym", "lesion_id", "body_site", "visit_date", "created_at")
    } | {
        "model_version": visit.model_version,
        "p_malignant": visit.p_malignant,
        "grade": visit.grade,
        "label": visit.label,
        "mm_per_pixel": visit.mm_per_pixel,
        "image_width": visit.image_size[0],
        "image_height": visit.image_size[1],
        "descriptors": visit.descriptors,
        "settings": visit.settings,
        "contour": visit.contour,
    }
    with engine.begin() as conn:
        conn.execute(insert(visits).values(**row))  # no notes column yet
    engine.dispose()

    store = open_store(config)
    try:
        assert schema_revision(store.engine) == head_revision()
        assert [v.notes for v in store.visits("P-0001")] == [""]
    finally:
        store.dispose()
