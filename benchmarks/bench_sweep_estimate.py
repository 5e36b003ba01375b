"""The sweep page's time estimate (scansnap_core.scan_snap.sweep.sweep_seconds) against the measured time
of run_sweep, on one core (a sweep job trains with torch.set_num_threads(1)).

For each Fig. 6 layout (160 runs of 100 steps: 4 η_Z × 4 ratios × 10 seeds) and for a few smaller grids,
prints the estimate, the measured seconds and their ratio as Markdown.

    python benchmarks/bench_sweep_estimate.py
"""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scansnap_core.scan_snap.sweep import FIG6_GRID, fig6_configs, run_sweep, sweep_seconds  # noqa: E402

GRIDS = [(f"Fig. 6 layout, {q} query token(s): 160 runs × 100 steps", dict(num_query=(q,)))
         for q in FIG6_GRID["num_query"]] + [
    ("10 query tokens, 2 seeds × 50 steps (32 runs)", dict(num_query=(10,), seeds=(1, 2), steps=50)),
    ("1 and 3 query tokens, 1 seed (32 runs × 100 steps)", dict(num_query=(1, 3), seeds=(1,))),
    ("all four layouts, 3 seeds × 100 steps (192 runs)", dict(seeds=(1, 2, 3))),
]


def main() -> None:
    torch.set_num_threads(1)
    print(f"- {platform.platform()}; os.cpu_count() = {os.cpu_count()}; torch {torch.__version__}, 1 thread; "
          f"load average at start: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()) + "\n")
    print("| grid | estimate (s) | measured (s) | measured / estimate |")
    print("|---|---:|---:|---:|")
    for label, grid in GRIDS:
        configs = fig6_configs(**grid)
        estimate = sweep_seconds(configs)
        start = time.perf_counter()
        run_sweep(configs)
        measured = time.perf_counter() - start
        print(f"| {label} | {estimate:.1f} | {measured:.1f} | {measured / estimate:.2f} |", flush=True)


if __name__ == "__main__":
    main()
