"""Case-history widgets: the opt-in save form on Diagnose, the patient picker, export and
erase on History, and the shared store.

Nothing is written unless the user ticks "Save to case history" and presses "Save visit".
"""

from __future__ import annotations

import datetime as dt
import hashlib
from contextlib import suppress
from functools import partial

import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from skinapp.analysis import Analysis
from skinapp.auth import AuditLog
from skinapp.case_info import CaseInfo, days_between
from skinapp.errors import SkinappError
from skinapp.store import BODY_SITES, CaseInputError, CaseStore, new_visit
from skinapp.trust.decision import decide
from skinapp.ui import gate
from skinapp.ui.storage import store

__all__ = [
    "HISTORY_ERASED",
    "HISTORY_LESION",
    "HISTORY_PATIENT",
    "erased_confirmation",
    "export_patient",
    "patient_admin",
    "patient_picker",
    "save_form",
    "saved_case",
    "store",
]

# Session keys ("<page>.<name>").
SAVE_OPT_IN = "diagnose.case.save"
SAVE_FORM = "diagnose.case.form"
SAVE_PSEUDONYM = "diagnose.case.pseudonym"
SAVE_LESION = "diagnose.case.lesion"
SAVE_SITE = "diagnose.case.site"
SAVE_DATE = "diagnose.case.date"
HISTORY_SEARCH = "history.search"
HISTORY_PATIENT = "history.patient"
HISTORY_LESION = "history.lesion"
HISTORY_ERASE_CONFIRM = "history.erase_confirm"
HISTORY_ERASED = "history.erased"
#: ``(analysis key, CaseInfo)`` of the visit just saved, for the Diagnose PDF report.
_SAVED_CASE = "case.saved"
#: Plain keys the save form fills so that History opens on the saved lesion.
_OPEN_PATIENT = "case.open_patient"
_OPEN_LESION = "case.open_lesion"

PRIVACY_NOTE = (
    "Use a pseudonym or clinic code, never a name. Saved: the analysed photo re-encoded "
    "without file name, EXIF or GPS data, the result, the outline and the settings."
)


# === Diagnose: the opt-in save form ===


def _analysis_key(analysis: Analysis) -> str:
    return hashlib.sha1(analysis.image.tobytes(), usedforsecurity=False).hexdigest()


def saved_case(analysis: Analysis) -> CaseInfo | None:
    """The case details of this analysis if it was saved in this session, else None."""
    saved = st.session_state.get(_SAVED_CASE)
    if saved and saved[0] == _analysis_key(analysis):
        return saved[1]
    return None


def save_form(analysis: Analysis, model_version: str, *, notes: str = "") -> int | None:
    """ "Save to case history" (off by default) and, when ticked, the visit form.

    ``notes`` (the clinician's notes typed on the page) are saved with the visit.
    Returns the new visit id after a save, else None. Not offered for a photo that is not a
    dermoscopic lesion image (:func:`skinapp.trust.decision.decide`).
    """
    if not decide(analysis.prediction).can_save:
        return None
    if not st.checkbox(
        "Save to case history",
        key=SAVE_OPT_IN,
        help="Off by default: nothing you upload is stored unless you tick this and save.",
    ):
        return None
    with st.form(SAVE_FORM, border=True):
        left, middle, right, last = st.columns(4)
        pseudonym = left.text_input(
            "Patient pseudonym", key=SAVE_PSEUDONYM, max_chars=64, placeholder="e.g. P-0042"
        )
        lesion = middle.text_input(
            "Lesion id", key=SAVE_LESION, max_chars=32, placeholder="e.g. L1 or back-left-3"
        )
        site = right.selectbox(
            "Body site", BODY_SITES, index=None, key=SAVE_SITE, accept_new_options=True
        )
        date = last.date_input("Visit date", key=SAVE_DATE, max_value=dt.date.today())
        st.caption(PRIVACY_NOTE + " The notes typed above are saved with the visit.")
        submitted = st.form_submit_button("Save visit", icon=":material/save:")
    if not submitted:
        return None
    try:
        visit = new_visit(
            analysis,
            pseudonym=pseudonym,
            lesion_id=lesion,
            body_site=site or "",
            visit_date=date,
            model_version=model_version,
            notes=notes,
        )
        audit = gate.audit_row("save_visit", pseudonym=visit.pseudonym, lesion_id=visit.lesion_id)
        visit_id = store().save_visit(visit, audit=audit)
        earlier = [v for v in store().visits(visit.pseudonym, visit.lesion_id) if v.id != visit_id]
        earlier = [v for v in earlier if v.visit_date <= visit.visit_date]
    except CaseInputError as err:
        st.error(str(err), icon=":material/edit:")
        return None
    except SkinappError as err:
        st.error(str(err))
        return None
    previous = max((v.visit_date for v in earlier), default=None)
    st.session_state[_SAVED_CASE] = (
        _analysis_key(analysis),
        CaseInfo(
            visit.pseudonym,
            visit.lesion_id,
            visit.body_site,
            visit.visit_date,
            days_between(previous, visit.visit_date),
        ),
    )
    st.session_state[_OPEN_PATIENT] = visit.pseudonym
    st.session_state[_OPEN_LESION] = visit.lesion_id
    st.success(
        f"Saved the {visit.visit_date.isoformat()} visit of lesion {visit.lesion_id} "
        f"for {visit.pseudonym}.",
        icon=":material/check_circle:",
    )
    with suppress(StreamlitPageNotFoundError):  # the page run on its own (tests), no app.py
        st.page_link("pages/history.py", label="Open its history", icon=":material/timeline:")
    return visit_id


# === History: choose, export, erase ===


def patient_picker(case_store: CaseStore) -> tuple[str, str] | None:
    """Search box, patient and lesion pickers; ``(pseudonym, lesion_id)`` or None if the
    store is empty. Opens on the lesion just saved from Diagnose."""
    opened_patient = st.session_state.pop(_OPEN_PATIENT, None)
    opened_lesion = st.session_state.pop(_OPEN_LESION, None)
    if opened_patient:
        st.session_state[HISTORY_SEARCH] = ""
        st.session_state[HISTORY_PATIENT] = opened_patient
        st.session_state[HISTORY_LESION] = opened_lesion
    search = st.text_input("Find a patient", key=HISTORY_SEARCH, placeholder="part of a pseudonym")
    patients = case_store.patients(search)
    if not patients:
        return None
    if st.session_state.get(HISTORY_PATIENT) not in patients:
        st.session_state[HISTORY_PATIENT] = patients[0]
    left, right = st.columns(2)
    patient = left.selectbox("Patient", patients, key=HISTORY_PATIENT)
    lesions = case_store.lesions(patient)
    if st.session_state.get(HISTORY_LESION) not in lesions:
        st.session_state[HISTORY_LESION] = lesions[0]
    lesion = right.selectbox("Lesion", lesions, key=HISTORY_LESION)
    return patient, lesion


def patient_admin(case_store: CaseStore, pseudonym: str) -> None:
    """Export the patient's records (CSV + photos zip) or erase them for good."""
    identity = gate.current_identity()
    st.download_button(
        "Export this patient (CSV + photos, zip)",
        data=partial(
            export_patient,
            case_store,
            pseudonym,
            actor=identity.username if identity else "local",
            client=gate.client_address(),
        ),
        file_name="skinapp-patient-export.zip",
        mime="application/zip",
        on_click="ignore",
        icon=":material/download:",
    )
    st.checkbox(
        f"Erase every visit and photo of {pseudonym} (cannot be undone)",
        key=HISTORY_ERASE_CONFIRM,
    )
    if st.button(
        "Erase patient",
        type="primary",
        icon=":material/delete_forever:",
        disabled=not st.session_state.get(HISTORY_ERASE_CONFIRM),
    ):
        audit = gate.audit_row("erase_patient", pseudonym=pseudonym)
        erased = case_store.erase_patient(pseudonym, audit=audit)
        for key in (HISTORY_PATIENT, HISTORY_LESION, HISTORY_ERASE_CONFIRM):
            st.session_state.pop(key, None)
        st.session_state[HISTORY_ERASED] = (
            f"Erased {pseudonym}: {erased} visit{'s' if erased != 1 else ''} and their photos "
            "were deleted from the case history for good."
        )
        st.rerun()


def erased_confirmation() -> None:
    """After "Erase patient": say what was erased (once, on the page that follows)."""
    message = st.session_state.pop(HISTORY_ERASED, None)
    if message:
        st.success(message, icon=":material/delete:")


def export_patient(case_store: CaseStore, pseudonym: str, *, actor: str, client: str) -> bytes:
    """The patient's export zip, recorded in the audit trail (called when the user clicks
    the download button, outside the script run: who and from where are bound beforehand)."""
    data = case_store.export_patient(pseudonym)
    AuditLog(case_store.engine).record(actor, "export_patient", pseudonym=pseudonym, client=client)
    return data
