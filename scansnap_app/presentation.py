"""The presentation view, for a projector at the front of a lecture hall: larger text, KPIs, chart fonts and
lines, charts taller, captions at full contrast and the sidebar collapsed, on every page.  The palette does not
change (it is colour-blind safe already).  It is a sidebar toggle and the URL parameter ``present=1``, so a
shared link opens a page in it; the charts follow the light or the dark theme either way (live_chart.js)."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from scansnap_core.lab.figure_style import enlarged

from .url_state import UrlFlag

MODE = UrlFlag("present", "presentation")
#: chart fonts, lines and markers, and chart heights, relative to the normal view
CHART_ENLARGEMENT, CHART_HEIGHT = 1.5, 1.35

CSS = """<style>
html { font-size: 19px; }
[data-testid="stMainBlockContainer"] { max-width: 100%; padding-left: 2.5rem; padding-right: 2.5rem; }
[data-testid="stMainBlockContainer"] h1 { font-size: 2.3rem; }
[data-testid="stMetricValue"] { font-size: 2.3rem; font-weight: 650; }
[data-testid="stMetricLabel"] p { font-size: 1.05rem; font-weight: 600; }
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] * { color: inherit !important; }
</style>"""


def active() -> bool:
    return MODE.active()


def sidebar_state() -> str:
    return "collapsed" if active() else "auto"


def controls() -> None:
    """The toggle (top of the sidebar) and, while on, the view's CSS."""
    if MODE.toggle(st.sidebar, "Presentation view", help="Larger text and charts for a projector, captions at "
                   "full contrast, this sidebar collapsed (open it with the arrow at the top left to leave). A link "
                   "to the page keeps the view (present=1)."):
        st.html(CSS)


def for_display(fig: go.Figure, height: int) -> tuple[go.Figure, int]:
    """The figure and its height as the view shows them."""
    if not active():
        return fig, height
    return enlarged(fig, CHART_ENLARGEMENT), round(height * CHART_HEIGHT)
