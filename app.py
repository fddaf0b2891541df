"""skinapp: entry script. Configures the page and routes; every page lives in pages/."""

from pathlib import Path

import streamlit as st

# A local file: a ":material/…:" page icon makes every browser fetch it from fonts.gstatic.com.
ICON = Path(__file__).resolve().parent / "skinapp" / "assets" / "icon.png"

st.set_page_config(
    page_title="skinapp · dermoscopy decision support",
    page_icon=str(ICON),
    layout="wide",
)

pages = {
    "Clinic": [
        st.Page("pages/diagnose.py", title="Diagnose", icon=":material/stethoscope:", default=True),
        st.Page("pages/history.py", title="Lesion history", icon=":material/timeline:"),
        st.Page("pages/triage.py", title="Batch triage", icon=":material/sort:"),
        st.Page("pages/about.py", title="About & limits", icon=":material/info:"),
    ],
    "Lab": [st.Page("pages/lab.py", title="Preprocessing Lab", icon=":material/science:")],
    "Model": [st.Page("pages/dashboard.py", title="Model Dashboard", icon=":material/monitoring:")],
}

pg = st.navigation(pages)
pg.run()
