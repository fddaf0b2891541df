"""What the serving app imports: scikit-learn (some 75 MB resident) only where a page computes
metrics, fpdf2 (some 28 MB) only once a PDF is made, not to serve an analysis (issue 21:
memory of the app process)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _fresh_python(code: str) -> str:
    """stdout of ``code`` run in a new interpreter (nothing imported by the test session)."""
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    return out.stdout


def test_serving_an_analysis_does_not_import_scikit_learn():
    code = (
        "import sys\n"
        "import skinapp.analysis, skinapp.serving, skinapp.ui.cache, skinapp.ui.casebook\n"
        "import skinapp.ui.views, skinapp.ui.trust, skinapp.report_html, skinapp.report_pdf\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sklearn'))\n"
    )
    assert _fresh_python(code).strip().splitlines()[-1] == "[]"


def test_pages_offering_a_pdf_import_fpdf_only_to_make_one():
    code = (
        "import sys\n"
        "import skinapp.ui.cache, skinapp.ui.casebook, skinapp.ui.followup\n"
        "import skinapp.ui.visit_notes, skinapp.ui.pdf, skinapp.ui.views, skinapp.ui.trust\n"
        "print('fpdf' in sys.modules)\n"
        "import skinapp.pdf_layout\n"
        "print('fpdf' in sys.modules)\n"
    )
    assert _fresh_python(code).split() == ["False", "True"]
