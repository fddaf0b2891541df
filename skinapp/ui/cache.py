"""Cached loaders: the model once per process, saved metrics files, samples, analyses.

- :func:`classifier` is a ``st.cache_resource`` singleton shared by every session. That is
  safe because :class:`~skinapp.serving.Classifier` gives each thread its own LiteRT
  interpreter.
- File loaders use ``st.cache_data`` keyed on the path *and its modification time*, so a
  newly shipped model is picked up without a restart. They return copies.
- :func:`analysis` caches results in memory (never on disk) keyed on the image bytes, the
  settings and the model version, so moving a Lab slider back, or rerunning a page, is free.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from skinapp.analysis import Analysis, AnalysisSettings, analyze_bytes
from skinapp.errors import SkinappError
from skinapp.serving import Classifier, default_model_dir

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

_DX_NAMES = {
    "mel": "melanoma",
    "nv": "melanocytic nevus",
    "bcc": "basal cell carcinoma",
    "akiec": "actinic keratosis / intraepithelial carcinoma",
    "bkl": "benign keratosis",
    "df": "dermatofibroma",
    "vasc": "vascular lesion",
}


# === Model ===


def model_dir() -> Path:
    """The model folder the app serves (``SKINAPP_MODEL_DIR`` or the shipped ``models/``)."""
    return default_model_dir()


@st.cache_resource(show_spinner="Loading the model…")
def _load_classifier(path: str, mtime: float) -> Classifier:
    return Classifier(path)


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


@st.cache_data(max_entries=16, ttl="1h", show_spinner=False)
def _analysis(
    data: bytes,
    settings_key: str,
    model_version: str,
    _settings: AnalysisSettings,
    _classifier: Classifier,
) -> Analysis:
    return analyze_bytes(data, _settings, _classifier)


def analysis(data: bytes, settings: AnalysisSettings, clf: Classifier) -> Analysis:
    """:func:`skinapp.analysis.analyze_bytes`, cached on (bytes, settings, model version).

    Raises
    ------
    SkinappError
        The bytes are not a readable image (errors are not cached).
    """
    return _analysis(data, settings.cache_key(), clf.version, settings, clf)


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
        row.image_id: f"{row.image_id} · {_DX_NAMES.get(row.dx, row.dx)} ({row.label})"
        for row in meta.itertuples()
        if (SAMPLES_DIR / f"{row.image_id}.jpg").is_file()
    }


@st.cache_data(show_spinner=False)
def sample_bytes(image_id: str) -> bytes:
    """The file of a bundled sample, by id (only ids from :func:`sample_catalog`)."""
    if image_id not in sample_catalog():
        raise KeyError(f"No bundled sample {image_id!r}")
    return (SAMPLES_DIR / f"{image_id}.jpg").read_bytes()
