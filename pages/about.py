"""About: intended use, limitations, and how to read the result and the risk grade."""

import streamlit as st

from skinapp.model.grading import GRADE_DISCLAIMER, GRADE_TEXT
from skinapp.ui import state, views

state.init_state()
st.title("About skinapp")
views.disclaimer()

st.subheader("Intended use")
st.markdown(
    "- **Who:** clinicians, as a second look at a **dermoscopic** photo of **one** skin "
    "lesion; students, to learn what each image-processing step does (Preprocessing Lab).\n"
    "- **What it gives:** a calibrated probability that the lesion is malignant (melanoma, "
    "basal cell carcinoma, actinic keratosis / intraepithelial carcinoma), a benign/malignant "
    "call, a risk grade 1–3, the lesion outline, ABCD measurements and a heat map of the "
    "image regions that drove the estimate.\n"
    "- **What it is not:** a diagnosis, a triage decision on its own, or a cancer stage."
)

st.subheader("How to read the grade")
st.table({"Grade": [f"Grade {g}" for g in GRADE_TEXT], "Meaning": list(GRADE_TEXT.values())})
st.markdown(
    "The grade comes only from the model's calibrated probability, cut at two thresholds "
    "chosen on held-out validation data: grade 1 keeps about 95 % of malignant lesions out, "
    "grade 3 keeps about 90 % of benign lesions out. The Model Dashboard shows how often each "
    "grade was malignant in the test set."
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
    "holds for the validated defaults only.\n"
    "- Uploaded images are analysed in memory and never stored; reports contain no file "
    "name, EXIF or patient data."
)
