"""About: intended use, limitations, and how to read the result and the risk grade."""

import streamlit as st

from skinapp.errors import SkinappError
from skinapp.model.grading import GRADE_DISCLAIMER, GRADE_TEXT
from skinapp.store.config import store_config
from skinapp.ui import state, views

state.init_state()
st.title("About skinapp")
views.disclaimer()

st.subheader("Intended use")
st.markdown(
    "- **Who:** clinicians, as a second look at a **dermoscopic** photo of **one** skin "
    "lesion; students, to learn what each image-processing step does (Preprocessing Lab).\n"
    "- **What it gives:** a **risk grade 1–3** (the answer), read from a calibrated "
    "probability that the lesion is malignant (melanoma, basal cell carcinoma, actinic "
    "keratosis / intraepithelial carcinoma); beside it a **differential diagnosis**: "
    "calibrated probabilities over seven diagnoses (the malignant ones sum to that "
    "probability) and a top call chosen to be fair to rare diagnoses; the lesion outline, "
    "ABCD measurements and a heat map of the image regions that drove the estimate.\n"
    "- **Which answer:** Diagnose averages the 8 flips and quarter turns of the photo "
    "(8-view TTA) under its own calibration; every figure shown with it is measured for that "
    "answer. `predict` gives one view unless run with `--tta`; single-view figures are "
    "labelled so.\n"
    "- **When not to listen:** a photo that is not a dermoscopic image of a skin lesion (a "
    "natural photo, screenshot, document, flat or noise image) gets one message and no grade, "
    "measurements, save or report; a real lesion unlike the training photos keeps its grade "
    "with an **unusual lesion** caution and a wider uncertainty range. Measured on sources "
    "the check never saw: at most 0.8 % of their lesions called not a lesion (Model Dashboard).\n"
    "- **What it is not:** a diagnosis, a triage decision on its own, or a cancer stage."
)

st.subheader("How to read the grade")
st.table({"Grade": [f"Grade {g}" for g in GRADE_TEXT], "Meaning": list(GRADE_TEXT.values())})
st.markdown(
    "The grade comes only from the model's calibrated probability, cut at two thresholds "
    "chosen on held-out validation data for the app's answer (8-view TTA): grade 1 keeps "
    "about 95 % of malignant lesions out, grade 3 keeps about 90 % of benign lesions out. "
    "No benign/malignant word is shown: the grade says how worried to be, the differential "
    "what the lesion most likely is. The Model Dashboard shows how often each grade was "
    "malignant in the test set."
)
st.caption(GRADE_DISCLAIMER)

st.subheader("Limitations")
st.markdown(
    "- Trained on public dermoscopy collections (HAM10000, ISIC, PH2), mostly light skin "
    "types; accuracy on darker skin, on clinical (non-dermoscopic) photos, on nails, mucosa "
    "or scalp, and on lesion types it was not trained on is unknown.\n"
    "- One image, no history: the model does not know age, site, evolution or symptoms, "
    "which often decide the management.\n"
    "- The heat map shows where the evidence lies, not why; the ABCD descriptors are "
    "measurements of the automatic outline, which can be wrong (check the contour).\n"
    "- Changing the Lab settings changes what you see; the model's measured performance "
    "holds for the validated defaults only."
)

st.subheader("What is stored, when and where")
try:
    where = store_config().describe()
except SkinappError as err:
    where = f"not configured ({err})"
st.markdown(
    "- **Diagnose, Batch triage, the Lab:** an uploaded photo is analysed in memory and is "
    "**not written to disk**. It and its analysis stay in this browser session's memory "
    "until the session ends, about half a minute after its tab closes.\n"
    "- **Only when you tick “Save to case history” and press “Save visit”** (Diagnose) is "
    "a visit stored: the patient pseudonym you type, lesion id, body site, visit date, your "
    "notes, the result (probability, grade, model version), the ABCD measurements, the Lab "
    "settings, the lesion outline, and the photo re-encoded from its pixels as a JPEG "
    "(no file name, EXIF or GPS data).\n"
    f"- **Where:** {where} (set `SKINAPP_DATA_DIR` or `SKINAPP_DATABASE_URL` to change it).\n"
    "- **Until when:** until you erase the patient on Lesion history (“Export or erase this "
    "patient's records”), which deletes the visits and photos for good.\n"
    "- **Reports** (PDF, HTML) are made on request and downloaded to your computer; they "
    "contain no file name or EXIF, and the pseudonym, lesion, site and dates only for a "
    "saved visit. Nothing is sent to any outside server."
)
