"""Batch triage logic: zips are opened in memory with zip-bomb limits, odd entries are
ignored, bad files are listed with their error while the rest are analysed, rows come out
riskiest first, and the table / CSV hold what the page shows."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pandas as pd
import pytest

from skinapp import triage
from skinapp.serving import Prediction
from skinapp.triage import BatchFile, expand_uploads, run_triage, to_csv, to_frame
from tests.fakes import FakeClassifier


class BrightnessClassifier(FakeClassifier):
    """Darker photo, higher risk: distinct, known grades and probabilities per sample."""

    def predict(self, image: np.ndarray, *, tta: bool = False) -> Prediction:
        base = super().predict(image)
        p = float(1.0 - image.mean() / 255.0)
        grade = 1 if p < 0.4 else 2 if p < 0.5 else 3
        return Prediction(p, base.log_odds, base.label, grade, base.class_probs, base.heatmap)


def _zip(entries: dict[str, bytes], compression=zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in entries.items():
            if name.endswith("/"):
                archive.writestr(zipfile.ZipInfo(name), b"")
            else:
                archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def photos(sample_paths) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sample_paths}


def test_zip_entries_are_unpacked_and_odd_ones_ignored(photos):
    names = list(photos)[:3]
    archive = _zip(
        {
            "visit/": b"",
            **{f"visit/{n}": photos[n] for n in names},
            "__MACOSX/visit/._a.jpg": b"junk",
            "visit/.DS_Store": b"junk",
            "visit/notes.txt": b"hello",
            "visit/broken.jpg": b"not an image at all",
        }
    )
    files, problems, ignored = expand_uploads([("batch.zip", archive), ("single.jpg", b"x")])
    assert [f.name for f in files] == [
        *(f"batch.zip/visit/{n}" for n in names),
        "batch.zip/visit/broken.jpg",
        "single.jpg",
    ]
    assert files[0].data == photos[names[0]]
    assert problems == []
    assert ignored == 4  # the folder, two hidden files, the text file


def test_a_zip_bomb_entry_is_refused_without_inflating_it():
    bomb = _zip({"bomb.png": bytes(8 * 1024 * 1024)}, compression=zipfile.ZIP_DEFLATED)
    assert len(bomb) < 100_000
    files, problems, _ = expand_uploads([("bomb.zip", bomb)])
    assert files == []
    assert "zip bomb" in problems[0].message


def test_zip_limits_on_entries_and_total_size(photos, monkeypatch):
    one = next(iter(photos.values()))
    monkeypatch.setattr(triage, "MAX_ZIP_MEMBERS", 3)
    files, problems, _ = expand_uploads([("many.zip", _zip({f"{i}.jpg": one for i in range(4)}))])
    assert files == [] and "at most 3" in problems[0].message

    monkeypatch.setattr(triage, "MAX_ZIP_MEMBERS", 1000)
    monkeypatch.setattr(triage, "MAX_ZIP_TOTAL_BYTES", 2 * len(one) + 10)
    files, problems, _ = expand_uploads([("big.zip", _zip({f"{i}.jpg": one for i in range(4)}))])
    assert len(files) == 2
    assert [p.name for p in problems] == ["big.zip/2.jpg"]
    assert "were not unpacked" in problems[0].message


def test_a_broken_zip_is_listed_and_the_batch_goes_on(photos):
    name, data = next(iter(photos.items()))
    files, problems, _ = expand_uploads([("bad.zip", b"PK\x03\x04garbage"), (name, data)])
    assert [f.name for f in files] == [name]
    assert problems[0].name == "bad.zip"
    assert "cannot be opened" in problems[0].message


def test_files_past_the_batch_limit_are_listed_not_analysed():
    uploads = [(f"{i}.jpg", b"x") for i in range(5)]
    files, problems, _ = expand_uploads(uploads, max_files=3)
    assert len(files) == 3
    assert [p.name for p in problems] == ["3.jpg", "4.jpg"]


def test_triage_sorts_by_grade_then_probability_and_lists_bad_files(photos):
    files = [BatchFile(n, d) for n, d in photos.items()]
    files.append(BatchFile("notes.jpg", b"<html>not an image</html>"))
    progress = []
    result = run_triage(
        files,
        BrightnessClassifier(),
        on_progress=lambda done, total, name: progress.append((done, total)),
    )
    assert len(result.rows) == len(photos)
    keys = [(-r.grade, -r.p_malignant) for r in result.rows]
    assert keys == sorted(keys)
    assert len({r.grade for r in result.rows}) >= 2  # the sort is exercised across grades
    assert [p.name for p in result.problems] == ["notes.jpg"]
    assert "not an image" in result.problems[0].message
    assert progress[-1] == (len(files), len(files))


class NotLesionIfBright(BrightnessClassifier):
    """The two brightest photos are "not a lesion", the darkest "unusual"."""

    def predict(self, image: np.ndarray, *, tta: bool = False) -> Prediction:
        import dataclasses

        pred = super().predict(image)
        return dataclasses.replace(
            pred, ood=bool(image.mean() > self.bright), unusual=bool(image.mean() < self.dark)
        )


def test_photos_that_are_not_lesions_are_listed_apart_never_ranked(photos):
    from skinapp.io import read_image

    means = sorted(read_image(d).mean() for d in photos.values())
    clf = NotLesionIfBright()
    clf.bright, clf.dark = (means[-3] + means[-2]) / 2, (means[0] + means[1]) / 2
    result = run_triage([BatchFile(n, d) for n, d in photos.items()], clf)
    assert len(result.not_lesions) == 2 and len(result.rows) == len(photos) - 2
    assert {p.name for p in result.not_lesions}.isdisjoint(r.name for r in result.rows)
    assert all("Not a dermoscopic image" in p.message for p in result.not_lesions)
    assert [r.caution for r in result.rows].count(triage.UNUSUAL_CAUTION) == 1
    frame = to_frame(result.rows)
    assert "caution" in frame.columns and "caution" in to_csv(frame).decode().splitlines()[0]


def test_table_and_csv(photos):
    result = run_triage([BatchFile(n, d) for n, d in photos.items()], BrightnessClassifier())
    frame = to_frame(result.rows)
    assert frame["thumbnail"].str.startswith("data:image/jpeg;base64,").all()
    assert list(frame["file"]) == [r.name for r in result.rows]
    csv = pd.read_csv(io.BytesIO(to_csv(frame)))
    assert tuple(csv.columns) == triage.CSV_COLUMNS
    assert "thumbnail" not in csv.columns
    assert list(csv["grade"]) == list(frame["grade"])
