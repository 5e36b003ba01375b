"""Figure pack: one zip with every view of a run as PNG and SVG (rendered by
:mod:`scansnap_core.lab.export`), the tables, the config and the command."""

from __future__ import annotations

import io
import json
import zipfile

from ..lab.export import render_images
from ..lab.figure_style import ExportStyle
from .explain import captions_markdown
from .figures import all_figures
from .results import RunData, cli_command, cli_token_command, frames_from_data

__all__ = ["figure_pack"]


def figure_pack(data: RunData, summary: dict | None = None, cls: int = 0, style: ExportStyle = ExportStyle()) -> bytes:
    """The zip of a run: figures/*.png and *.svg (sized and styled by ``style``) with captions.md (how to read
    each), tables as CSV and Parquet, config.json, summary.json (if given) and reproduce.sh with the exact CLI
    command."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, image in render_images(all_figures(data, cls), style=style).items():
            zf.writestr(f"figures/{name}", image)
        for name, table in frames_from_data(data).items():
            zf.writestr(f"{name}.csv", table.to_csv(index=False))
            parquet = io.BytesIO()
            table.to_parquet(parquet, index=False)
            zf.writestr(f"{name}.parquet", parquet.getvalue())
        zf.writestr("captions.md", captions_markdown())
        zf.writestr("config.json", data.config.to_json())
        if summary is not None:
            zf.writestr("summary.json", json.dumps(summary, indent=2))
        zf.writestr("reproduce.sh", "#!/bin/sh\n# Re-run this exact configuration (same seed, same data, the same\n"
                    "# learning-rate changes). The same run from this folder's config.json:\n"
                    f"#   python -m scansnap_core run --config config.json --out run\n"
                    f"# or as one compact token:\n#   {cli_token_command(data.config, out='run')}\n"
                    + cli_command(data.config, out="run") + "\n")
    return buf.getvalue()
