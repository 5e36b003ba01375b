"""Figure pack: one zip with every view as PNG and SVG, the tables, the config and the command.

Static images come from kaleido, which drives the system's Chromium (``BROWSER_PATH`` or
``chromium`` on PATH); MathJax is off because it would load from the network.
"""

from __future__ import annotations

import io
import json
import threading
import warnings
import zipfile

import kaleido
import plotly.graph_objects as go
import plotly.io as pio

from .figures import all_figures
from .results import RunData, cli_command, frames_from_data

__all__ = ["figure_pack", "render_images", "EXPORT_SIZE"]

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


def figure_pack(data: RunData, summary: dict | None = None, cls: int = 0) -> bytes:
    """The zip of a run: figures/*.png and *.svg, tables as CSV and Parquet, config.json,
    summary.json (if given) and reproduce.sh with the exact CLI command."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, image in render_images(all_figures(data, cls)).items():
            zf.writestr(f"figures/{name}", image)
        for name, table in frames_from_data(data).items():
            zf.writestr(f"{name}.csv", table.to_csv(index=False))
            parquet = io.BytesIO()
            table.to_parquet(parquet, index=False)
            zf.writestr(f"{name}.parquet", parquet.getvalue())
        zf.writestr("config.json", data.config.to_json())
        if summary is not None:
            zf.writestr("summary.json", json.dumps(summary, indent=2))
        zf.writestr("reproduce.sh", "#!/bin/sh\n# Re-run this exact configuration (same seed, same data)\n"
                    + cli_command(data.config, out="run") + "\n")
    return buf.getvalue()
