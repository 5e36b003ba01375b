"""A finished (or paused) induction-heads run as one zip: every figure as PNG and SVG, their captions, the tables,
the configuration, the summary and the command that trains it again."""

from __future__ import annotations

import io
import json
import zipfile

from ..lab.export import render_images
from ..lab.figure_style import ExportStyle
from .engine import InductionView
from .explain import captions
from .figures import FIGURES
from .results import cli_command, summarize, tables

__all__ = ["figure_pack", "figures_of"]


def figures_of(view: InductionView) -> dict:
    return {name: build(view) for name, build in FIGURES.items()}


def figure_pack(view: InductionView, style: ExportStyle = ExportStyle()) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, image in render_images(figures_of(view), style=style).items():
            zf.writestr(f"figures/{name}", image)
        notes = captions(view)
        zf.writestr("captions.md", "# Figure captions\n\n" + "\n".join(
            f"## {name}\n\n{text}\n" for name, text in notes.items()))
        for name, table in tables(view).items():
            zf.writestr(f"{name}.csv", table.to_csv(index=False))
            parquet = io.BytesIO()
            table.to_parquet(parquet, index=False)
            zf.writestr(f"{name}.parquet", parquet.getvalue())
        zf.writestr("config.json", view.config.to_json())
        zf.writestr("summary.json", json.dumps(summarize(view), indent=2))
        zf.writestr("reproduce.sh", "#!/bin/sh\n# Train this exact configuration again (same seed, same data):\n"
                    + cli_command(view.config, out="run") + "\n")
    return buf.getvalue()
