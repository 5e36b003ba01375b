"""Static figure export for every study: PNG and SVG bytes from plotly figures via kaleido, which
drives the system's Chromium (``BROWSER_PATH`` or ``chromium`` on PATH); MathJax is off because it
would load from the network."""

from __future__ import annotations

import threading
import warnings

import kaleido
import plotly.graph_objects as go
import plotly.io as pio

__all__ = ["render_images", "EXPORT_SIZE"]

#: pixel size of exported figures (PNG is written at 2× this)
EXPORT_SIZE = (1200, 600)

_render_lock = threading.Lock()  # one kaleido browser per process, used by one caller at a time


def render_images(figures: dict[str, go.Figure], formats: tuple[str, ...] = ("png", "svg")) -> dict[str, bytes]:
    """``{"name.png": bytes, "name.svg": bytes, ...}`` for every figure (PNG at 2×)."""
    pio.defaults.mathjax = None
    width, height = EXPORT_SIZE
    with _render_lock, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The kopts argument is ignored")  # plotly's notice, harmless
        kaleido.start_sync_server(silence_warnings=True)  # reuse one browser: the first image costs seconds
        return {f"{name}.{fmt}": pio.to_image(fig, format=fmt, width=width, height=height,
                                              scale=2 if fmt == "png" else 1)
                for fmt in formats for name, fig in figures.items()}
