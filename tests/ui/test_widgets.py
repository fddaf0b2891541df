"""Tests for skinapp.ui.widgets: forms generated from parameter dataclasses, settings files.

Each test runs a tiny script with ``AppTest.from_function``; the form's result is written
to ``st.session_state["result"]`` so that the test can read it back.
"""

from __future__ import annotations

import dataclasses

import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1 import app_test as app_test_module

from skinapp.analysis import AnalysisSettings
from skinapp.preprocess import PipelineParams
from skinapp.preprocess.params import ContrastParams, DenoiseParams
from skinapp.ui import state
from skinapp.ui.widgets import field_label
from skinapp.vision.hair import HairRemovalParams

TIMEOUT = 30


def hair_form():
    import streamlit as st

    from skinapp.ui.widgets import param_form
    from skinapp.vision.hair import HairRemovalParams

    st.session_state["result"] = param_form(HairRemovalParams, key="t.hair")


def pipeline_form():
    import streamlit as st

    from skinapp.preprocess import PipelineParams
    from skinapp.ui.widgets import param_form

    st.session_state["result"] = param_form(PipelineParams, key="t.pipe", reset=False)


def seeded_form():
    import streamlit as st

    from skinapp.preprocess.params import ContrastParams
    from skinapp.ui.widgets import param_form

    if st.session_state.get("show", True):  # False: as if the user were on another page
        st.session_state["result"] = param_form(
            ContrastParams, key="t.contrast", value=ContrastParams(method="clahe", clip_limit=4.0)
        )


def import_export():
    import streamlit as st

    from skinapp.ui import state
    from skinapp.ui.widgets import settings_import_export

    state.init_state()
    settings_import_export(st.session_state[state.SETTINGS])


def _run(script) -> AppTest:
    at = AppTest.from_function(script, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def test_every_ui_field_gets_a_widget_with_its_help():
    at = _run(hair_form)

    for f in dataclasses.fields(HairRemovalParams):
        widget = at.get_by_key(f"t.hair.{f.name}")
        assert widget.label == field_label(f)
        assert widget.help == f.metadata["ui"]["help"]
    assert at.session_state["result"] == HairRemovalParams()


def test_widget_kinds_follow_the_field_types():
    at = _run(hair_form)

    assert at.checkbox(key="t.hair.enabled").value is True
    assert at.selectbox(key="t.hair.kernel_shape").options == ["cross", "ellipse", "rect"]
    threshold = at.slider(key="t.hair.threshold")
    assert (threshold.min, threshold.max, threshold.step) == (1, 100, 1)
    elongation = at.slider(key="t.hair.min_elongation")
    assert isinstance(elongation.value, float) and elongation.step == 0.5


def test_odd_fields_only_offer_odd_values():
    at = _run(hair_form)
    kernel = at.slider(key="t.hair.kernel_size")

    assert kernel.min % 2 == 1 and kernel.step == 2


def test_moving_a_slider_changes_the_result():
    at = _run(hair_form)
    at.slider(key="t.hair.threshold").set_value(45).run()
    at.selectbox(key="t.hair.inpaint_method").set_value("ns").run()

    assert at.session_state["result"] == HairRemovalParams(threshold=45, inpaint_method="ns")


def test_reset_restores_the_defaults():
    at = _run(hair_form)
    at.slider(key="t.hair.threshold").set_value(45).run()
    at.checkbox(key="t.hair.enabled").uncheck().run()
    assert at.session_state["result"] != HairRemovalParams()

    at.button(key="t.hair.reset").click().run()

    assert at.session_state["result"] == HairRemovalParams()
    assert at.slider(key="t.hair.threshold").value == HairRemovalParams().threshold


def test_switched_off_step_disables_its_other_widgets():
    at = _run(hair_form)
    assert not at.slider(key="t.hair.threshold").disabled

    at.checkbox(key="t.hair.enabled").uncheck().run()

    assert at.slider(key="t.hair.threshold").disabled
    assert not at.checkbox(key="t.hair.enabled").disabled


def test_nested_params_become_one_expander_per_step():
    at = _run(pipeline_form)

    assert [e.label for e in at.expander] == [
        field_label(f) for f in dataclasses.fields(PipelineParams)
    ]
    at.selectbox(key="t.pipe.denoise.method").set_value("median").run()
    at.slider(key="t.pipe.denoise.kernel_size").set_value(7).run()

    result = at.session_state["result"]
    assert result.denoise == DenoiseParams(method="median", kernel_size=7)
    assert result.hair_removal == HairRemovalParams()


def expanded_form():
    import streamlit as st

    from skinapp.preprocess import PipelineParams
    from skinapp.ui.widgets import param_form

    st.session_state["result"] = param_form(
        PipelineParams, key="t.pipe", reset=False, expanded=("hair_removal",)
    )


def test_chosen_steps_start_expanded():
    at = _run(expanded_form)

    opened = [e.label for e in at.expander if e.proto.expanded]
    assert opened == ["Hair removal"]


def test_initial_values_come_from_value():
    at = _run(seeded_form)

    assert at.selectbox(key="t.contrast.method").value == "clahe"
    assert at.slider(key="t.contrast.clip_limit").value == 4.0
    assert at.session_state["result"] == ContrastParams(method="clahe", clip_limit=4.0)


def test_widget_values_survive_a_page_change():
    """Streamlit drops widget state when a widget is not drawn; value= re-seeds it."""
    at = _run(seeded_form)
    at.slider(key="t.contrast.clip_limit").set_value(6.0).run()
    at.session_state["show"] = False
    at.run()
    assert "t.contrast.clip_limit" not in at.session_state  # Streamlit dropped it
    at.session_state["show"] = True
    at.run()

    assert at.slider(key="t.contrast.clip_limit").value == 4.0  # from value=


@pytest.fixture
def media_files(monkeypatch) -> list[MemoryMediaFileStorage]:
    """The in-memory store of each AppTest run, where download buttons put their files."""
    stores: list[MemoryMediaFileStorage] = []

    class Recording(MemoryMediaFileStorage):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            stores.append(self)

    monkeypatch.setattr(app_test_module, "MemoryMediaFileStorage", Recording)
    return stores


@pytest.mark.parametrize(
    "settings",
    [
        AnalysisSettings(),
        AnalysisSettings(
            pipeline=PipelineParams(contrast=ContrastParams(method="clahe", clip_limit=3.0)),
            classify_preprocessed=True,
        ),
    ],
    ids=["defaults", "changed"],
)
def test_settings_export_downloads_the_settings_json(media_files, settings):
    # GIVEN a session's Lab settings WHEN the export button is rendered
    at = AppTest.from_function(import_export, default_timeout=TIMEOUT)
    at.session_state[state.SETTINGS] = settings
    at.run()
    assert not at.exception, at.exception
    (button,) = at.get("download_button")
    assert "Export settings" in button.proto.label

    # THEN the file behind it is exactly those settings as JSON ...
    served = media_files[-1].get_file(button.proto.url.rsplit("/", 1)[-1])
    assert served.mimetype == "application/json"
    assert served.filename == "skinapp-lab-settings.json"
    assert served.content.decode() == settings.to_json()
    # ... and importing it in a fresh session gives the same settings
    fresh = _run(import_export)
    fresh.file_uploader(key=state.LAB_IMPORT).set_value(
        (served.filename, served.content, served.mimetype)
    ).run()
    assert not fresh.error
    assert fresh.session_state[state.SETTINGS] == settings


def test_settings_import_applies_a_file():
    at = _run(import_export)
    wanted = AnalysisSettings(
        pipeline=PipelineParams(contrast=ContrastParams(method="clahe", clip_limit=3.0)),
        classify_preprocessed=True,
    )
    at.file_uploader(key=state.LAB_IMPORT).set_value(
        ("lab.json", wanted.to_json().encode(), "application/json")
    ).run()

    assert not at.error
    assert at.session_state[state.SETTINGS] == wanted
    assert at.session_state[f"{state.LAB_PIPELINE}.contrast.clip_limit"] == 3.0
    assert at.session_state[state.LAB_CLASSIFY_PREPROCESSED] is True


@pytest.mark.parametrize("content", [b"{broken", b'{"pipeline": {"contrast": {"clip_limit": 99}}}'])
def test_settings_import_reports_bad_files(content):
    at = _run(import_export)
    at.file_uploader(key=state.LAB_IMPORT).set_value(
        ("lab.json", content, "application/json")
    ).run()

    assert len(at.error) == 1 and "Settings not imported" in at.error[0].value
    assert at.session_state[state.SETTINGS] == AnalysisSettings()
