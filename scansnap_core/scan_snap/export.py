"""Figure pack: one zip with every view of a run as PNG and SVG (rendered by
:mod:`scansnap_core.lab.export`), the tables, the config and the command."""

from __future__ import annotations

import io
import json
import zipfile

from ..lab.export import render_images
from .figures import all_figures
from .results import RunData, cli_command, frames_from_data

__all__ = ["figure_pack"]


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
