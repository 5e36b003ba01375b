"""The app's own CSS (constant text, never user input): a compact top of the page, so that on a
1280 × 720 laptop the run controls, the KPIs and the main charts fit on one screen, and KPI values that
fit their columns."""

from __future__ import annotations

import streamlit as st

CSS = """<style>
[data-testid="stMainBlockContainer"] { padding-top: 3.4rem; padding-bottom: 3rem; }
[data-testid="stMainBlockContainer"] h1 { font-size: 2rem; padding: 0 0 0.25rem 0; }
[data-testid="stMetricValue"] { font-size: 1.55rem; }
[data-testid="stMetricLabel"] p { font-size: 0.85rem; }
</style>"""


def apply() -> None:
    st.html(CSS)
