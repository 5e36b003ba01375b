"""Static figure export for every study: PNG and SVG bytes from plotly figures via kaleido, which
drives the system's Chromium (``BROWSER_PATH`` or ``chromium`` on PATH); MathJax is off because it
would load from the network."""

from __future__ import annotations

import contextlib
import io
import json
import threading
import warnings
import zipfile

import kaleido
import plotly.graph_objects as go
import plotly.io as pio

from .figure_style import ExportStyle, export_layout

__all__ = ["RendererUnavailable", "chromium_missing", "render_images", "run_pack", "write_figures"]

_render_lock = threading.Lock()  # one kaleido browser per process, used by one caller at a time


class RendererUnavailable(RuntimeError):
    """Chromium, which renders the PNG, SVG and video frames, is missing or would not start."""


@contextlib.contextmanager
def chromium_missing():
    """Turn kaleido's "no browser" and "browser failed" errors into one :class:`RendererUnavailable` that says
    what to do (a CLI prints it as one line, a page as a message)."""
    from choreographer.errors import BrowserFailedError, ChromeNotFoundError

    try:
        yield
    except (ChromeNotFoundError, BrowserFailedError) as err:
        raise RendererUnavailable("rendering images and videos needs Chromium: install it (e.g. apt-get install "
                                  f"chromium) or set BROWSER_PATH ({type(err).__name__})") from None


def render_images(figures: dict[str, go.Figure], formats: tuple[str, ...] = ("png", "svg"),
                  style: ExportStyle = ExportStyle()) -> dict[str, bytes]:
    """``{"name.png": bytes, "name.svg": bytes, ...}`` for every figure, sized and styled by ``style``
    (PNG at ``style.scale``, SVG at 1: it is vector)."""
    pio.defaults.mathjax = None
    with _render_lock, warnings.catch_warnings(), chromium_missing():
        warnings.filterwarnings("ignore", message="The kopts argument is ignored")  # plotly's notice, harmless
        kaleido.start_sync_server(silence_warnings=True)  # reuse one browser: the first image costs seconds
        return {f"{name}.{fmt}": pio.to_image(go.Figure(fig).update_layout(export_layout(fig, style)), format=fmt,
                                              width=style.width, height=style.height,
                                              scale=style.scale if fmt == "png" else 1)
                for fmt in formats for name, fig in figures.items()}


def write_figures(folder, figures: dict[str, go.Figure]) -> None:
    """Every figure as PNG and SVG into ``folder`` (created if missing): a CLI run's ``--figures``."""
    from pathlib import Path

    folder = Path(folder)
    folder.mkdir(exist_ok=True)
    for name, image in render_images(figures).items():
        (folder / name).write_bytes(image)


def run_pack(figures: dict[str, go.Figure], captions: dict[str, str], tables: dict, config_json: str, summary: dict,
             command: str, style: ExportStyle = ExportStyle()) -> bytes:
    """A run as one zip, the same for every study: figures/*.png and *.svg (sized by ``style``), captions.md, every
    table as CSV and Parquet, config.json, summary.json and reproduce.sh (``command`` trains it again)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, image in render_images(figures, style=style).items():
            zf.writestr(f"figures/{name}", image)
        zf.writestr("captions.md", "# Figure captions\n\n" + "\n".join(
            f"## {name}\n\n{text}\n" for name, text in captions.items()))
        for name, table in tables.items():
            zf.writestr(f"{name}.csv", table.to_csv(index=False))
            parquet = io.BytesIO()
            table.to_parquet(parquet, index=False)
            zf.writestr(f"{name}.parquet", parquet.getvalue())
        zf.writestr("config.json", config_json)
        zf.writestr("summary.json", json.dumps(summary, indent=2))
        zf.writestr("reproduce.sh", "#!/bin/sh\n# Train this exact configuration again (same seed, same data):\n"
                    + command + "\n")
    return buf.getvalue()

