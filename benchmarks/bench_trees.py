"""Before/after, side by side in one run: engine steps/s, the full Fig. 6 sweep and the per-refresh
event detection, measured on two source trees (e.g. a `git worktree` of an older commit and this one).

Each round runs one fresh subprocess per tree, alternating, so both see the same machine state; the
table gives the median over rounds and the ratio new/old.

Usage::

    git worktree add /tmp/before <commit>
    python benchmarks/bench_trees.py /tmp/before . --rounds 3
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

#: measured in the child: engine steps/s per preset (best of 3 chunks of 40 steps, torch on 2 threads),
#: the full Fig. 6 sweep in seconds, and event detection over a million-step ‖ΔZ‖ history in ms
CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import numpy as np, torch
torch.set_num_threads(2)
try:  # the Scan & Snap study's room (scansnap_core/scan_snap/)
    from scansnap_core.scan_snap.presets import preset
    from scansnap_core.scan_snap.engine import Engine
    from scansnap_core.scan_snap.sweep import fig6_configs, run_sweep
    from scansnap_core.scan_snap import events as events_module
except ImportError:  # an older tree: every module sat in scansnap_core/
    try:
        from scansnap_core.presets import preset
    except ImportError:  # older still: the presets lived in config
        from scansnap_core.config import preset
    from scansnap_core.engine import Engine
    from scansnap_core.sweep import fig6_configs, run_sweep
    try:
        from scansnap_core import events as events_module
    except ImportError:
        events_module = None
out = {}
for name in ("syn-small", "syn-medium-10", "fig3", "large"):
    e = Engine(preset(name, steps=10_000, record_every=10_000))
    e.step(5)
    best = 1e9
    for _ in range(3):
        t = time.perf_counter(); e.step(40); best = min(best, (time.perf_counter() - t) / 40)
    out[f"{name} steps/s"] = 1 / best
t = time.perf_counter(); table = run_sweep(fig6_configs()); out["Fig. 6 sweep (s)"] = time.perf_counter() - t
table.to_pickle(sys.argv[2])  # the parent compares the trees' tables
n = 1_000_000
dz = (np.abs(np.random.default_rng(0).standard_normal(n)) * np.exp(-np.arange(n) / n * 5)).astype(np.float32)
if events_module is not None:
    detect = lambda: events_module.detect_events(dz, np.zeros(n, bool))
else:  # before the measured events: the peak of a moving average
    from scansnap_core.results import snapping_step
    detect = lambda: snapping_step(dz)
t = time.perf_counter()
for _ in range(5):
    detect()
out["events at 10^6 steps (ms)"] = (time.perf_counter() - t) / 5 * 1000
print(json.dumps(out))
"""


def measure(tree: Path, table: Path) -> dict[str, float]:
    proc = subprocess.run([sys.executable, "-c", CHILD, str(tree.resolve()), str(table)], capture_output=True,
                          text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def compare_tables(old: pd.DataFrame, new: pd.DataFrame) -> str:
    """How far the new tree's Fig. 6 table is from the old one's: the largest differences of the measured
    numbers, and in how many runs a detected event moved."""
    parts = [f"{column}: largest difference {np.nanmax(np.abs(new[column] - old[column])):.2e}"
             for column in ("entropy_distinct", "final_loss")]
    for column in ("scan_peak_step", "snap_step"):
        moved = ~((new[column] == old[column]) | (new[column].isna() & old[column].isna()))
        parts.append(f"{column}: {int(moved.sum())} of {len(new)} runs differ")
    return "; ".join(parts)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("old", type=Path, help="source tree before the change")
    p.add_argument("new", type=Path, help="source tree after the change")
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    runs: dict[str, list[dict]] = {"old": [], "new": []}
    tables = {side: Path(tempfile.mkdtemp()) / f"{side}.pkl" for side in runs}
    for r in range(args.rounds):
        for side in ("old", "new"):
            runs[side].append(measure(getattr(args, side), tables[side]))
            print(f"round {r + 1}/{args.rounds}: {side} done", file=sys.stderr)
    print(f"Machine: {platform.platform()}, {platform.processor() or platform.machine()}; {args.rounds} rounds, "
          "median\n")
    print(f"| measure | old ({args.old}) | new ({args.new}) | new / old |")
    print("|---|---|---|---|")
    for key in runs["old"][0]:
        old = statistics.median(m[key] for m in runs["old"])
        new = statistics.median(m[key] for m in runs["new"])
        print(f"| {key} | {old:,.1f} | {new:,.1f} | {new / old:.2f} |")
    print("\nFig. 6 tables, new against old: " + compare_tables(*(pd.read_pickle(tables[s]) for s in ("old", "new"))))


if __name__ == "__main__":
    main()
