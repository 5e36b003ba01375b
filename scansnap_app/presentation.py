"""The presentation view, for a projector at the front of a lecture hall: larger text, KPIs, chart fonts and
lines, charts taller, captions at full contrast and the sidebar collapsed, on every page.  The palette does not
change (it is colour-blind safe already).  It is a sidebar toggle and the URL parameter ``present=1``, so a
shared link opens a page in it; the charts follow the light or the dark theme either way (live_chart.js)."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from scansnap_core.lab.figure_style import enlarged

PARAM, KEY = "present", "presentation"
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


def restore() -> None:
    """On a session's first run, take the view from the URL (``present=1``); the toggle keeps it after that."""
    ss = st.session_state
    if not ss.get("_presentation_restored"):
        ss[KEY] = st.query_params.get(PARAM, "") in ("1", "true", "on", "yes")
        ss["_presentation_restored"] = True


def active() -> bool:
    return bool(st.session_state.get(KEY))


def url_params() -> dict[str, str]:
    """What the page's URL carries for the view (pages write it with their own settings)."""
    return {PARAM: "1"} if active() else {}


def sidebar_state() -> str:
    return "collapsed" if active() else "auto"


def controls() -> None:
    """The toggle (top of the sidebar) and, while on, the view's CSS."""
    # the view's state is its own key, not the toggle's: a collapsed sidebar does not report its widgets
    st.sidebar.toggle("Presentation view", value=active(), key=f"_{KEY}_toggle", on_change=_toggled, help="Larger text and charts for a projector, captions at full "
                      "contrast, this sidebar collapsed (open it with the arrow at the top left to leave). "
                      "A link to the page keeps the view (present=1).")
    if active():
        st.html(CSS)


def _toggled() -> None:
    st.session_state[KEY] = st.session_state[f"_{KEY}_toggle"]


def for_display(fig: go.Figure, height: int) -> tuple[go.Figure, int]:
    """The figure and its height as the view shows them."""
    if not active():
        return fig, height
    return enlarged(fig, CHART_ENLARGEMENT), round(height * CHART_HEIGHT)
