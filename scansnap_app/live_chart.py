"""Plotly charts that update in place.

``st.plotly_chart`` re-mounts a chart whenever its data change (its element id hashes the
spec), which costs the browser a full ``Plotly.newPlot`` on every live refresh and throws away
the user's zoom.  This Streamlit v2 component keeps one plot per key and calls
``Plotly.react`` with each new figure, so live views refresh several times a second and zoom,
pan and legend clicks survive refreshes (``uirevision``).  Its modebar has a PNG and an SVG download at
the session's export settings (scansnap_app/export_settings.py: a fixed size, not the window's), and
no "Share chart" button (plotly.js would offer to upload the data to an external service).

plotly.js is the copy shipped inside the pinned ``plotly`` package, served by Streamlit's
static file serving from ``static/`` (copied there by :func:`ensure_plotly_js`).
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
from pathlib import Path

import plotly
import plotly.graph_objects as go
import streamlit as st

from scansnap_core.lab.figure_style import export_layout

from . import presentation
from .export_settings import export_style

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
PLOTLY_JS = f"plotly-{plotly.__version__}.min.js"
_SOURCE = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"

_JS = (Path(__file__).parent / "live_chart.js").read_text()

_COMPONENT = None


def ensure_plotly_js() -> Path:
    """Copy the pinned plotly.js into ``static/`` (once per plotly version; the Docker image does
    it at build time, where the app folder is read-only at run time)."""
    target = STATIC_DIR / PLOTLY_JS
    if not target.exists():
        STATIC_DIR.mkdir(exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=STATIC_DIR, suffix=".tmp")  # concurrent sessions: rename is atomic
        os.close(fd)
        shutil.copyfile(_SOURCE, tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600: a server running as another user (Docker) must read it
        os.replace(tmp, target)
    return target


def _component():
    global _COMPONENT
    if _COMPONENT is None:
        _COMPONENT = st.components.v2.component(
            "scansnap_live_chart", html='<div class="scansnap-live-chart"></div>', js=_JS, isolate_styles=False)
    return _COMPONENT


@functools.cache
def _plotly_src() -> str:
    """The URL path of the pinned plotly.js (copied into static/ on first use)."""
    ensure_plotly_js()
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return "/" + "/".join(p for p in (base, "app", "static", PLOTLY_JS) if p)


def live_chart(fig: go.Figure, *, key: str, filename: str, height: int = 450, uirevision: str = "") -> None:
    """Show ``fig`` under ``key``; later calls with the same key update the same plot in place.
    ``uirevision``: keep the user's zoom until this string changes."""
    try:
        src = _plotly_src()
    except OSError as err:
        st.error(f"Charts need plotly.js in {STATIC_DIR} and it could not be copied there ({err}). "
                 "Run `python -m scansnap_app.live_chart` once with write access.")
        return
    style = export_style()
    export = dict(layout=export_layout(fig, style), scale=style.scale)
    shown, height = presentation.for_display(fig, height)
    if shown is not fig:  # downloads keep the normal view's figure, not the projector's enlarged one
        export["figure"] = fig.to_json()
    _component()(key=key, data=dict(figure=shown.to_json(), src=src, filename=f"scansnap-{filename}", height=height,
                                     uirevision=uirevision or key, export=export), height=height)


if __name__ == "__main__":
    print(ensure_plotly_js())
