"""The full Fig. 6 sweep (640 runs × 100 steps) with each group's batches drawn in a background thread
(run_sweep's default) against drawing them in the training thread (``prefetch=False``), at 2 and at 1 torch
threads, side by side in one process; the tables must be identical.

    python benchmarks/bench_sweep_prefetch.py
"""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from scansnap_core.scan_snap.sweep import fig6_configs, run_sweep  # noqa: E402


def main() -> None:
    configs = fig6_configs()
    print(f"{platform.machine()}, Python {platform.python_version()}, torch {torch.__version__}; "
          f"{len(configs)} runs × 100 steps\n")
    print("| torch threads | batches drawn in the training thread | drawn ahead in a background thread | ratio |")
    print("|---:|---:|---:|---:|")
    reference = None
    for threads in (2, 1):
        torch.set_num_threads(threads)
        seconds = {}
        for prefetch in (False, True):
            start = time.perf_counter()
            table = run_sweep(configs, prefetch=prefetch)
            seconds[prefetch] = time.perf_counter() - start
            if reference is None:
                reference = table
            pd.testing.assert_frame_equal(table, reference)  # the same numbers every way
        print(f"| {threads} | {seconds[False]:.1f} s | {seconds[True]:.1f} s | {seconds[False] / seconds[True]:.2f}× |",
              flush=True)


if __name__ == "__main__":
    main()
