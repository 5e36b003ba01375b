"""The figure export settings every chart's download buttons and the figure pack use: a fixed size (not
the window's), PNG scale, font size and titles, chosen once in the sidebar for the whole session."""

from __future__ import annotations

import streamlit as st

from scansnap_core.lab.figure_style import ExportStyle

SIZES = {"1600 × 900 (16:9 slide)": (1600, 900), "1920 × 1080 (full HD)": (1920, 1080),
         "1200 × 900 (4:3 slide)": (1200, 900), "1200 × 600 (wide, paper)": (1200, 600),
         "800 × 600 (small)": (800, 600)}
SCALES = (1, 2, 3)
FONT_SIZES = (12, 14, 16, 20, 24)
_DEFAULT = ExportStyle()


def export_style() -> ExportStyle:
    """The session's choice (the defaults until the user picks something)."""
    ss = st.session_state
    width, height = SIZES.get(ss.get("export_size"), (_DEFAULT.width, _DEFAULT.height))
    return ExportStyle(width=width, height=height, scale=ss.get("export_scale", _DEFAULT.scale),
                       font_size=ss.get("export_font", _DEFAULT.font_size), titles=ss.get("export_titles", True))


def controls() -> None:
    """The sidebar's "Figure export" settings."""
    with st.sidebar.popover("Figure export", icon=":material/image:", width="stretch"):
        st.caption("Every chart's PNG and SVG buttons and the figure pack export at this size, whatever the "
                   "window's size.")
        st.selectbox("Size (pixels)", list(SIZES), key="export_size")
        st.segmented_control("PNG scale", SCALES, default=_DEFAULT.scale, key="export_scale",
                             format_func=lambda s: f"{s}×", help="2× doubles the pixels for sharp slides")
        st.select_slider("Font size", FONT_SIZES, value=_DEFAULT.font_size, key="export_font")
        st.toggle("Titles", value=True, key="export_titles", help="Off: for slides that carry their own title")
