"""The figure export settings every chart's download buttons and the figure pack use: a fixed size (not
the window's), PNG scale, font size and titles, chosen once in the sidebar for the whole session."""

from __future__ import annotations

from typing import Callable

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


def figure_pack_button(container, build: Callable[[ExportStyle], tuple[int, bytes]], name: str, key: str,
                       help: str) -> None:
    """A "Prepare figure pack" button that renders the pack at the session's export settings (``build(style)`` ->
    (step, zip bytes); rendering needs the system's Chromium, so a failure is said in words), then its download."""
    from .plain import plain

    if container.button("Prepare figure pack", key=f"prepare_{key}", help=help):
        with st.spinner("Rendering figures…"):
            try:
                st.session_state[f"_{key}"] = build(export_style())
            except Exception as err:  # rendering depends on a system browser; say what failed
                st.session_state.pop(f"_{key}", None)
                st.error(f"Could not render the figures ({type(err).__name__}: {plain(err)}). "
                         "Static export needs Chromium installed on the server.")
    pack = st.session_state.get(f"_{key}")
    if pack is not None:
        container.download_button("⬇ Download figure pack", pack[1], file_name=f"{name}-step{pack[0]}.zip",
                                  mime="application/zip", key=f"download_{key}", type="primary")

