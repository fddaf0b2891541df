"""skinapp: dermoscopy decision support (not a diagnosis).

Core modules never import streamlit; pages -> skinapp.ui -> skinapp core.
"""

__version__ = "0.1.0"
