"""Widgets generated from data: parameter forms from dataclass fields, and the image picker.

:func:`param_form` turns a parameter dataclass (fields carrying :func:`skinapp.params.ui`
metadata) into sliders, selectboxes and checkboxes, each with its one-line help, keyed
``"<key>.<field>"``; nested dataclasses (the steps of ``PipelineParams``) become expanders.
Nothing about a slider is written by hand.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Collection
from typing import Any, NamedTuple

import streamlit as st

from skinapp.analysis import AnalysisSettings
from skinapp.errors import SkinappError
from skinapp.io import UPLOAD_LIMIT_TEXT
from skinapp.preprocess import PipelineParams
from skinapp.ui import cache, state
from skinapp.ui.cache import sample_bytes, sample_catalog
from skinapp.vision.segment import SegmentParams

__all__ = [
    "NamedImage",
    "apply_params",
    "field_label",
    "image_inputs",
    "learned_segmenter_installed",
    "param_form",
    "reset_lab_settings",
    "reset_params",
    "segment_form",
    "set_lab_settings",
    "setting_label",
    "settings_import_export",
    "with_outline_sensitivity",
]

#: Fields that switch a step on or off; when off, the step's other widgets are disabled.
_SWITCHES = ("enabled", "method", "mode")
SOURCES = ("Upload", "Camera", "Sample")


class NamedImage(NamedTuple):
    """An image file chosen by the user: a display name (never put in reports) and bytes."""

    name: str
    data: bytes


# === Parameter forms ===


def field_label(f: dataclasses.Field) -> str:
    """The widget label of a field: its ``ui(label=...)`` or its name in words."""
    meta = f.metadata.get("ui") or {}
    return meta.get("label") or f.name.replace("_", " ").capitalize()


#: Labels of the settings that are not generated from a parameter class.
_ROOT_LABELS = {
    "pipeline": ("", PipelineParams),
    "segment": ("Segmentation", SegmentParams),
}
_CLASSIFY_LABEL = "Give the model the preprocessed image"


def setting_label(dotted: str) -> str:
    """The Lab's label of a setting named as in ``AnalysisSettings.changed_parameters()``,
    e.g. ``"pipeline.hair_removal.kernel_size"`` → ``"Hair removal › Kernel size"``."""
    if dotted == "classify_preprocessed":
        return _CLASSIFY_LABEL
    root, *rest = dotted.split(".")
    prefix, cls = _ROOT_LABELS.get(root, (root, None))
    parts = [prefix] if prefix else []
    for name in rest:
        f = {f.name: f for f in dataclasses.fields(cls)}.get(name) if cls else None
        if f is None:
            parts.append(name.replace("_", " "))
            cls = None
            continue
        parts.append(field_label(f))
        cls = type(_default(f)) if _is_nested(f) else None
    return " › ".join(parts)


def _is_nested(f: dataclasses.Field) -> bool:
    return f.default_factory is not dataclasses.MISSING and dataclasses.is_dataclass(
        f.default_factory()
    )


def _default(f: dataclasses.Field) -> Any:
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default


def _coerce(f: dataclasses.Field, value: Any) -> Any:
    """``value`` in the Python type of the field's default (JSON may give 2 for 2.0)."""
    default = _default(f)
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _widget_fields(cls: type) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(cls) if _is_nested(f) or "ui" in f.metadata]


def apply_params(cls: type, key: str, params: Any) -> None:
    """Set the widget values of ``param_form(cls, key=key)`` to ``params``.

    Use it from a callback (before the widgets are drawn), e.g. to import settings.
    """
    for f in _widget_fields(cls):
        value = getattr(params, f.name)
        if _is_nested(f):
            apply_params(type(value), f"{key}.{f.name}", value)
        else:
            st.session_state[f"{key}.{f.name}"] = _coerce(f, value)


def reset_params(cls: type, key: str) -> None:
    """Callback: put every widget of ``param_form(cls, key=key)`` back to its default."""
    apply_params(cls, key, cls())


def param_form(
    cls: type,
    *,
    key: str,
    value: Any = None,
    reset: bool = True,
    expanded: Collection[str] = (),
    unused: Callable[[Any], tuple[Collection[str], str]] | None = None,
) -> Any:
    """Draw a widget per field of a parameter dataclass and return the chosen instance.

    Parameters
    ----------
    cls : type
        A dataclass whose fields carry :func:`skinapp.params.ui` metadata (fields without
        it keep their current value); fields holding dataclasses are drawn as expanders.
    key : str
        Prefix of the widget keys: field ``f`` gets ``"<key>.<f>"`` (nested:
        ``"<key>.<step>.<f>"``).
    value : cls, optional
        Values for widgets that have none yet (e.g. after a page change); default ``cls()``.
    reset : bool
        Draw a "Reset to defaults" button.
    expanded : collection of str
        Names of the nested fields whose expanders start open.
    unused : callable, optional
        Called with the instance as the first field's widget sets it; returns the names of
        the fields that then do not apply (greyed out) and a one-line caption saying why.

    Returns
    -------
    cls
        The instance built from the widgets; ``value`` if the combination is invalid (the
        reason is shown as a warning).

    Widget kinds: ``bool`` → checkbox, ``choices`` → selectbox, ``int`` / ``float`` with
    ``min`` and ``max`` → slider (odd-only fields step by 2 from an odd minimum), other
    numbers → number input. Labels and help texts come from the metadata.
    """
    value = cls() if value is None else value
    if reset:
        st.button(
            "Reset to defaults",
            key=f"{key}.reset",
            on_click=reset_params,
            args=(cls, key),
            help="Put every setting below back to the value the app was validated with.",
        )
    return _form(cls, key, value, depth=0, expanded=frozenset(expanded), unused=unused)


def _form(
    cls: type,
    key: str,
    value: Any,
    *,
    depth: int,
    expanded: frozenset[str] = frozenset(),
    unused: Callable[[Any], tuple[Collection[str], str]] | None = None,
) -> Any:
    values: dict[str, Any] = {}
    disabled = False
    idle: Collection[str] = ()
    for i, f in enumerate(_widget_fields(cls)):
        current = getattr(value, f.name)
        if _is_nested(f):
            doc = _summary(type(current))
            if depth == 0:
                with st.expander(field_label(f), expanded=f.name in expanded):
                    if doc:
                        st.caption(doc)
                    values[f.name] = _form(type(current), f"{key}.{f.name}", current, depth=1)
            else:
                st.markdown(f"**{field_label(f)}**")
                values[f.name] = _form(type(current), f"{key}.{f.name}", current, depth=depth + 1)
            continue
        values[f.name] = _widget(f, f"{key}.{f.name}", current, disabled=disabled or f.name in idle)
        if i == 0 and unused is not None:
            idle, note = unused(dataclasses.replace(value, **values))
            if idle:
                st.caption(note)
        elif i == 0 and f.name in _SWITCHES:
            disabled = values[f.name] in (False, "none")
            if disabled and len(_widget_fields(cls)) > 1:
                st.caption(
                    f"The settings below are greyed out while “{field_label(f)}” is "
                    f"{'off' if values[f.name] is False else 'none'}: "
                    + ("switch it on" if values[f.name] is False else "pick a method")
                    + " to change them."
                )
    try:
        return dataclasses.replace(value, **values)
    except ValueError as err:
        st.warning(f"{cls.__name__}: {err}")
        return value


def _summary(cls: type) -> str:
    """First docstring line of a parameter class, for students (Sphinx roles removed)."""
    lines = (cls.__doc__ or "").strip().splitlines()
    text = re.sub(r":\w+:`~?([^`]+)`", r"\1", lines[0]) if lines else ""
    return "" if text.startswith("Parameters of") else text


def _widget(f: dataclasses.Field, wkey: str, current: Any, *, disabled: bool) -> Any:
    meta = f.metadata["ui"]
    label, help_text = field_label(f), meta.get("help") or None
    if wkey not in st.session_state:
        st.session_state[wkey] = _coerce(f, current)
    default = _default(f)
    common = {"key": wkey, "help": help_text, "disabled": disabled}
    if meta.get("choices") is not None:
        return st.selectbox(label, list(meta["choices"]), format_func=_choice_label, **common)
    if isinstance(default, bool):
        return st.checkbox(label, **common)
    lo, hi, step = meta.get("min"), meta.get("max"), meta.get("step")
    if isinstance(default, int):
        if lo is not None and hi is not None:
            lo, hi, step = int(lo), int(hi), int(step or 1)
            if meta.get("odd"):
                lo, step = lo + (lo % 2 == 0), 2
            return st.slider(label, min_value=lo, max_value=hi, step=step, **common)
        return st.number_input(label, min_value=lo, max_value=hi, step=int(step or 1), **common)
    if lo is not None and hi is not None:
        step = float(step) if step else (float(hi) - float(lo)) / 100
        return st.slider(label, min_value=float(lo), max_value=float(hi), step=step, **common)
    return st.number_input(
        label,
        min_value=None if lo is None else float(lo),
        max_value=None if hi is None else float(hi),
        step=None if step is None else float(step),
        **common,
    )


def _choice_label(choice: Any) -> str:
    return str(choice).replace("_", " ")


def learned_segmenter_installed() -> bool:
    """Whether the shared classifier comes with a learned segmenter (False when the model
    does not load: the page that needs it says so)."""
    try:
        return getattr(cache.classifier(), "segmenter", None) is not None
    except SkinappError:
        return False


def segment_form(value: SegmentParams, *, learned_installed: bool) -> SegmentParams:
    """The Lab's segmentation settings; those the chosen method does not read are greyed out
    (:meth:`SegmentParams.unused_fields`), with a caption saying why."""

    def unused(params: SegmentParams) -> tuple[Collection[str], str]:
        idle = params.unused_fields(learned_installed=learned_installed)
        if "sensitivity" not in idle:
            return idle, (
                "Greyed out: the learned network draws the outline, so these classical "
                "settings (thresholds, morphology, hull…) do not apply; pick classical to "
                "change them."
            )
        if params.method == "learned":  # the classical fallback
            return idle, (
                "No learned segmenter is installed, so the classical settings below outline "
                "the lesion; “Sensitivity” (learned outline only) is greyed out."
            )
        return idle, (
            "“Sensitivity” is greyed out: it moves the learned outline only (the magenta "
            "comparison outline uses it)."
        )

    return param_form(SegmentParams, key=state.LAB_SEGMENT, value=value, reset=False, unused=unused)


# === Settings files ===


def _import_settings() -> None:
    """Callback of the settings uploader: apply a JSON file to the Lab widgets."""
    upload = st.session_state.get(state.LAB_IMPORT)
    st.session_state[state.LAB_IMPORT_ERROR] = None
    if upload is None:
        return
    try:
        settings = AnalysisSettings.from_json(upload.getvalue())
    except ValueError as err:
        st.session_state[state.LAB_IMPORT_ERROR] = f"Settings not imported: {err}"
        return
    set_lab_settings(settings)


def set_lab_settings(settings: AnalysisSettings) -> None:
    """Make ``settings`` the session's Lab settings, widgets included (use in callbacks)."""
    from skinapp.preprocess import PipelineParams
    from skinapp.vision.segment import SegmentParams

    st.session_state[state.SETTINGS] = settings
    apply_params(PipelineParams, state.LAB_PIPELINE, settings.pipeline)
    apply_params(SegmentParams, state.LAB_SEGMENT, settings.segment)
    st.session_state[state.LAB_CLASSIFY_PREPROCESSED] = settings.classify_preprocessed


def reset_lab_settings() -> None:
    """Callback: every Lab setting back to the validated defaults."""
    set_lab_settings(AnalysisSettings())


def settings_import_export(settings: AnalysisSettings) -> None:
    """A download button for ``settings`` as JSON and an uploader that imports such a file."""
    st.download_button(
        "Export settings (JSON)",
        data=settings.to_json(),
        file_name="skinapp-lab-settings.json",
        mime="application/json",
        on_click="ignore",
        icon=":material/download:",
    )
    st.file_uploader(
        "Import settings (JSON)",
        type=["json"],
        key=state.LAB_IMPORT,
        on_change=_import_settings,
        help="A file exported from this Lab; unknown entries are ignored.",
    )
    if st.session_state.get(state.LAB_IMPORT_ERROR):
        st.error(st.session_state[state.LAB_IMPORT_ERROR])


# === Image input ===


def image_inputs(
    prefix: str, *, multiple: bool = True, default: str = "Upload"
) -> list[NamedImage]:
    """Let the user upload, photograph or pick a bundled sample; return the chosen files.

    Parameters
    ----------
    prefix : str
        Page name for the widget keys (``"<prefix>.source"``, ``"<prefix>.upload"``, ...).
    multiple : bool
        Allow several uploads at once.
    default : {"Upload", "Camera", "Sample"}
        The source selected at first.

    Returns
    -------
    list of NamedImage
        Undecoded bytes; empty when nothing is chosen yet. Nothing is written to disk.
    """
    source = st.radio(
        "Image source",
        SOURCES,
        index=SOURCES.index(default),
        horizontal=True,
        key=f"{prefix}.source",
        help="Upload dermoscopic photos, take one with the camera, or try a bundled sample "
        "(CC0 images from the ISIC archive that the model never saw in training).",
    )
    if source == "Upload":
        files = st.file_uploader(
            "Dermoscopic photo(s)" if multiple else "Dermoscopic photo",
            accept_multiple_files=multiple,
            key=f"{prefix}.upload",
            help=f"JPEG, PNG, BMP, TIFF or WebP, up to {UPLOAD_LIMIT_TEXT} each. Metadata (EXIF, "
            "GPS) is discarded on reading; nothing is stored.",
        )
        files = files if isinstance(files, list) else [files] if files else []
        return [NamedImage(f.name, f.getvalue()) for f in files]
    if source == "Camera":
        shot = st.camera_input("Photo through the dermatoscope", key=f"{prefix}.camera")
        return [NamedImage("camera photo", shot.getvalue())] if shot else []
    catalog = sample_catalog()
    choice = st.selectbox(
        "Sample image",
        list(catalog),
        format_func=lambda image_id: catalog[image_id],
        key=f"{prefix}.sample",
    )
    return [NamedImage(f"{choice} (sample)", sample_bytes(choice))] if choice else []


# === Outline ===


def with_outline_sensitivity(settings: AnalysisSettings, classifier: Any) -> AnalysisSettings:
    """The Diagnose page's boundary-sensitivity slider applied to ``settings``.

    Shown only when the learned segmenter outlines the lesion: it moves the threshold of
    the segmenter's probability map (0.5 = the threshold tuned on validation images), and
    the outline, the ABCD descriptors and a saved case follow.
    """
    if settings.segment.method != "learned" or getattr(classifier, "segmenter", None) is None:
        return settings
    sensitivity = st.slider(
        "Outline boundary sensitivity",
        min_value=0.0,
        max_value=1.0,
        value=settings.segment.sensitivity,
        step=0.05,
        key=state.DIAGNOSE_SENSITIVITY,
        help="If you disagree with the green outline: higher takes in more of the pale rim, "
        "lower keeps only the surest core. 0.5 is the validated setting; the descriptors "
        "follow the outline.",
    )
    return dataclasses.replace(
        settings, segment=dataclasses.replace(settings.segment, sensitivity=sensitivity)
    )
