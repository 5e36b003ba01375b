"""A trained run as files, the same for every study: config.json, summary.json and each per-step table as
Parquet and CSV in one folder."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

__all__ = ["write_run"]


def write_run(out: Path, config_json: str, summary: dict, tables: dict[str, pd.DataFrame]) -> list[Path]:
    """Write the files into ``out`` (created if missing); the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "config.json", out / "summary.json"]
    written[0].write_text(config_json)
    written[1].write_text(json.dumps(summary, indent=2))
    for name, df in tables.items():
        for path, write in ((out / f"{name}.parquet", df.to_parquet), (out / f"{name}.csv", df.to_csv)):
            write(path, index=False)
            written.append(path)
    return written
