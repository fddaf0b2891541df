"""Streamlit glue: session keys, generated parameter forms, cached loaders, charts.

Pages import from here; the rest of :mod:`skinapp` never imports Streamlit.
"""
