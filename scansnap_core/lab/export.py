"""Static figure export for every study: PNG and SVG bytes from plotly figures via kaleido, which
drives the system's Chromium (``BROWSER_PATH`` or ``chromium`` on PATH); MathJax is off because it
would load from the network."""

from __future__ import annotations

import threading
import warnings

import kaleido
import plotly.graph_objects as go
import plotly.io as pio

from .figure_style import ExportStyle, export_layout

__all__ = ["render_images"]

_render_lock = threading.Lock()  # one kaleido browser per process, used by one caller at a time


def render_images(figures: dict[str, go.Figure], formats: tuple[str, ...] = ("png", "svg"),
                  style: ExportStyle = ExportStyle()) -> dict[str, bytes]:
    """``{"name.png": bytes, "name.svg": bytes, ...}`` for every figure, sized and styled by ``style``
    (PNG at ``style.scale``, SVG at 1: it is vector)."""
    pio.defaults.mathjax = None
    with _render_lock, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The kopts argument is ignored")  # plotly's notice, harmless
        kaleido.start_sync_server(silence_warnings=True)  # reuse one browser: the first image costs seconds
        return {f"{name}.{fmt}": pio.to_image(go.Figure(fig).update_layout(export_layout(fig, style)), format=fmt,
                                              width=style.width, height=style.height,
                                              scale=style.scale if fmt == "png" else 1)
                for fmt in formats for name, fig in figures.items()}
