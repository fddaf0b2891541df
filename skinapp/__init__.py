"""skinapp: dermoscopy decision support (not a diagnosis).

Core modules never import streamlit; pages -> skinapp.ui -> skinapp core.
"""

from skinapp.threads import use_one_blas_thread

__version__ = "0.1.0"

use_one_blas_thread()  # see skinapp/threads.py: a spinning BLAS worker cost a core per analysis
