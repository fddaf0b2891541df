"""skinapp: entry script. Configures the page, lets only logged-in users past the gate, and
routes to the pages their role may open; every page lives in pages/."""

from pathlib import Path

import streamlit as st

from skinapp.auth.roles import sections
from skinapp.ui import gate

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
    "Admin": [
        st.Page("pages/users.py", title="Users", icon=":material/group:"),
        st.Page("pages/audit.py", title="Audit trail", icon=":material/policy:"),
    ],
}

identity = gate.require_login(pages)  # the login form only, until someone logs in
pg = st.navigation({name: pages[name] for name in sections(identity.role)})
gate.sidebar(identity)
pg.run()
