"""Cached loaders: the model once per process, saved metrics files, samples, analyses.

- :func:`classifier` is a ``st.cache_resource`` singleton shared by every session. That is
  safe because :class:`~skinapp.serving.Classifier` lends each ``run`` one of a fixed pool of
  LiteRT interpreters (as many as the analysis pool's workers, each with
  ``interpreter_threads`` threads: :mod:`skinapp.pool`).
- File loaders use ``st.cache_data`` keyed on the path *and its modification time*, so a
  newly shipped model is picked up without a restart. They return copies.
- :func:`analysis` keeps results in memory (never on disk) keyed on the image bytes, the
  settings and the model version, so moving a Lab slider back, or rerunning a page, is free:
  the session keeps its last :data:`SESSION_ANALYSES` results (freed when its tab has
  closed), and another session asking for a result some session keeps gets that one, not a
  copy (:mod:`skinapp.ui.results`). An analysis holds some 14 MB of images; nothing keeps
  one that no session keeps (no pickled copies in ``st.cache_data``, which took two more
  results, and 14 MB of pickling per analysis, at the busiest moment). A miss takes its turn
  in the process's :func:`skinapp.pool.default_pool`; while it waits the page shows how many
  analyses are ahead.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from skinapp.analysis import Analysis, AnalysisSettings
from skinapp.errors import SkinappError
from skinapp.memory import limit_arenas, off_heap
from skinapp.model.differential import plain_name
from skinapp.pool import analyze_in_pool, default_settings, waiting_message
from skinapp.serving import Classifier, default_model_dir
from skinapp.ui import sessions
from skinapp.ui.results import SessionResults, SharedResults

__all__ = [
    "SAMPLES_DIR",
    "analysis",
    "classifier",
    "model_csv",
    "model_dir",
    "model_json",
    "model_text",
    "sample_bytes",
    "sample_catalog",
]

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "samples"

# Cap glibc's heaps as the first page loads, before the sessions' threads make their own
# (each keeps the freed pages of its busiest moment; see skinapp.memory).
limit_arenas(2)


# === Model ===


def model_dir() -> Path:
    """The model folder the app serves (``SKINAPP_MODEL_DIR`` or the shipped ``models/``)."""
    return default_model_dir()


@st.cache_resource(show_spinner="Loading the model…")
def _load_classifier(path: str, mtime: float) -> Classifier:
    pool = default_settings()
    return Classifier(path, num_threads=pool.interpreter_threads, max_interpreters=pool.workers)


def classifier() -> Classifier:
    """The shared classifier (loaded once per process and model file).

    Raises
    ------
    ModelLoadError
        The model files are missing or invalid (not cached: the next call retries).
    """
    path = model_dir()
    return _load_classifier(str(path), _mtime(path / "model.tflite"))


def classifier_or_stop() -> Classifier:
    """:func:`classifier`, or the error as a message and the page stops (pages call this)."""
    try:
        return classifier()
    except SkinappError as err:
        st.error(str(err))
        st.stop()
        raise  # st.stop() raises; this keeps type checkers and readers certain


#: Most analyses one session keeps (its latest; Diagnose and the Lab each need one).
SESSION_ANALYSES = 3
_SESSION_MEMO = "cache.analyses"

#: Analyses that some session keeps, lent to the others (weakly held: no session, no copy).
_SHARED = SharedResults()


def analysis(data: bytes, settings: AnalysisSettings, clf: Classifier) -> Analysis:
    """:func:`skinapp.analysis.analyze_bytes` in a turn of the analysis pool, kept on
    (bytes, settings, model version): by this session (its last :data:`SESSION_ANALYSES`)
    and, while it keeps it, lent to any other session that asks for the same. While waiting
    for a turn the page says how many analyses are ahead.

    Raises
    ------
    PoolBusyError
        The pool's queue is full (a message to show; errors are not kept).
    SkinappError
        The bytes are not a readable image (errors are not kept).
    """
    memo = st.session_state.get(_SESSION_MEMO)
    if not isinstance(memo, SessionResults):
        memo = st.session_state[_SESSION_MEMO] = SessionResults(SESSION_ANALYSES)
    # Free its photo, images and analyses once the tab closes.
    sessions.track_this_session(memo.clear)
    key = (hashlib.sha256(data).hexdigest(), settings.cache_key(), clf.version)
    result = memo.recall(key)
    if result is None:
        result = _SHARED.get_or_compute(key, lambda: _analyse(data, settings, clf))
        memo.keep(key, result)
    return result


def _analyse(data: bytes, settings: AnalysisSettings, clf: Classifier) -> Analysis:
    """One analysis in a pool turn; the place in the queue is shown while it waits."""
    slot = st.empty()

    def on_wait(ahead: int) -> None:
        slot.info(waiting_message(ahead), icon=":material/hourglass_top:")

    try:
        # Its images leave the heaps, where the running analyses churn (skinapp.memory).
        result = off_heap(analyze_in_pool(data, settings, clf, on_wait=on_wait))
    finally:
        slot.empty()
    _freeze(result)  # sessions share it: a page that drew on it in place would change it
    return result


def _freeze(value: Any) -> None:
    """Make the arrays of a (nested) result read-only."""
    if isinstance(value, np.ndarray):
        value.flags.writeable = False
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            _freeze(getattr(value, f.name))
    elif isinstance(value, dict):
        for item in value.values():
            _freeze(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _freeze(item)


# === Saved files ===


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return -1.0


@st.cache_data(show_spinner=False)
def _read_json(path: str, mtime: float) -> Any:
    return json.loads(Path(path).read_text())


@st.cache_data(show_spinner=False)
def _read_csv(path: str, mtime: float) -> pd.DataFrame:
    return pd.read_csv(path)


@st.cache_data(show_spinner=False)
def _read_text(path: str, mtime: float) -> str:
    return Path(path).read_text(encoding="utf-8")


def model_json(name: str) -> Any | None:
    """A JSON file of the model folder (e.g. ``metrics.json``), or None if absent."""
    path = model_dir() / name
    return _read_json(str(path), _mtime(path)) if path.is_file() else None


def model_csv(name: str) -> pd.DataFrame | None:
    """A CSV file of the model folder (e.g. ``roc.csv``), or None if absent."""
    path = model_dir() / name
    return _read_csv(str(path), _mtime(path)) if path.is_file() else None


def model_text(name: str) -> str | None:
    """A text file of the model folder (e.g. ``MODEL_CARD.md``), or None if absent."""
    path = model_dir() / name
    return _read_text(str(path), _mtime(path)) if path.is_file() else None


# === Samples ===


@st.cache_data(show_spinner=False)
def sample_catalog() -> dict[str, str]:
    """``{image_id: "ISIC_0000309 · melanoma (malignant)"}`` for the bundled samples."""
    meta = pd.read_csv(SAMPLES_DIR / "metadata.csv")
    return {
        row.image_id: f"{row.image_id} · {plain_name(row.dx)} ({row.label})"
        for row in meta.itertuples()
        if (SAMPLES_DIR / f"{row.image_id}.jpg").is_file()
    }


@st.cache_data(show_spinner=False)
def sample_bytes(image_id: str) -> bytes:
    """The file of a bundled sample, by id (only ids from :func:`sample_catalog`)."""
    if image_id not in sample_catalog():
        raise KeyError(f"No bundled sample {image_id!r}")
    return (SAMPLES_DIR / f"{image_id}.jpg").read_bytes()
