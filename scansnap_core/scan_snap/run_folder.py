"""A run folder written by ``python -m scansnap_core run`` (or the figure pack) read back as a
:class:`~scansnap_core.scan_snap.results.RunData`, so figures and animations can be made from it without
training again (docs/THEORY.md §7 conventions; the tables are described in results.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..lab.fields import ConfigError
from .config import RunConfig
from .engine import Record
from .layout import Layout
from .results import RunData

__all__ = ["load_run"]

TABLES = ("metrics", "attention", "decoder")


def load_run(folder: str | Path) -> RunData:
    """The run saved in ``folder``: its config.json and its three tables (Parquet, or CSV where there is
    no Parquet).  ConfigError naming the file where one is missing or unreadable."""
    folder = Path(folder)
    cfg = RunConfig.from_json(_read_bytes(folder / "config.json"))
    tables = {name: _table(folder, name) for name in TABLES}
    layout = Layout(cfg.data)
    metrics = tables["metrics"].sort_values("step")
    steps = sorted(tables["attention"]["step"].unique())
    by_step = metrics.set_index("step")
    attention, logits = _per_support(layout, tables["attention"], steps)
    decoder = tables["decoder"].pivot(index="step", columns="class", values=["correct_logit", "correct_prob"])
    records = [Record(step=int(step), attention=attention[i][None], logits=logits[i][None],
                      correct_logit=decoder["correct_logit"].loc[step].to_numpy(np.float32)[None],
                      correct_prob=decoder["correct_prob"].loc[step].to_numpy(np.float32)[None],
                      entropy_distinct=np.array([by_step.at[step, "entropy_distinct"]], np.float32),
                      loss=np.array([by_step.at[step, "population_loss"]], np.float32))
               for i, step in enumerate(steps)]
    later = metrics[metrics["step"] > 0]
    return RunData.build(cfg, layout, records, later["loss"].to_numpy(np.float32),
                         later["dz_norm"].to_numpy(np.float32), later["attended_changed"].to_numpy(bool))


def _per_support(layout: Layout, table: pd.DataFrame, steps: list) -> tuple[np.ndarray, np.ndarray]:
    """The attention table's c_n and z as the engine's [records, K, S] arrays (0 on padded slots)."""
    cls, slot = np.nonzero(layout.support_prob > 0)
    slots = pd.DataFrame({"class": cls, "token": layout.support[cls, slot], "slot": slot})
    rows = table.merge(slots, on=["class", "token"], how="inner", validate="many_to_one")
    if len(rows) != len(table):
        raise ConfigError("attention table", f"{len(table) - len(rows)} rows off the config's layout",
                          "rows whose (class, token) are in the class's support")
    record = np.searchsorted(steps, rows["step"].to_numpy())
    shape = (len(steps), layout.K, layout.S)
    attention, logits = np.zeros(shape, np.float32), np.zeros(shape, np.float32)
    index = (record, rows["class"].to_numpy(), rows["slot"].to_numpy())
    attention[index] = rows["attention"].to_numpy()
    logits[index] = rows["logit"].to_numpy()
    return attention, logits


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise ConfigError("run folder", str(path), f"a folder written by `run` ({err.strerror})") from None


def _table(folder: Path, name: str) -> pd.DataFrame:
    parquet, csv = folder / f"{name}.parquet", folder / f"{name}.csv"
    try:
        return pd.read_parquet(parquet) if parquet.exists() else pd.read_csv(csv)
    except (OSError, ValueError) as err:
        raise ConfigError("run folder", str(parquet if parquet.exists() else csv),
                          f"the {name} table written by `run` ({err})") from None
