"""Sweeps on the local backend against a 2-worker local Dask cluster (issue 18), side by side in one run: the
cluster's start-up cost, the paper's full Fig. 6 grid (640 runs) and a 10x larger grid (seeds 1-100, 6,400
runs), each checked to give the same table.  Prints Markdown.

    python benchmarks/bench_dask.py [--workers 2] [--skip-large]

Local: run_sweep in this process, torch's default threads.  Dask: a LocalCluster of single-threaded worker
processes on 127.0.0.1 started for the sweep (its start included), one task per batched layout group
(chunk default) and, for balance, 40 runs per task.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from scansnap_core.lab.distributed import Backend, _client  # noqa: E402
from scansnap_core.scan_snap.sweep import fig6_configs, run_sweep  # noqa: E402


def timed(label: str, runs: int, sweep) -> tuple[float, object]:
    start = time.perf_counter()
    table = sweep()
    took = time.perf_counter() - start
    print(f"| {label} | {runs:,} | {took:.1f} |", flush=True)
    return took, table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-large", action="store_true", help="only the Fig. 6 grid")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}\n")
    print("| what | runs | seconds |\n|---|---|---|")
    for _ in range(2):  # the second start is the one a user sees after the first import
        start = time.perf_counter()
        with _client(Backend("dask", workers=args.workers)):
            pass
        print(f"| start and stop a {args.workers}-worker LocalCluster | – | {time.perf_counter() - start:.1f} |",
              flush=True)
    grids = [("Fig. 6 grid", fig6_configs())]
    if not args.skip_large:
        grids.append(("10x grid (seeds 1-100)", fig6_configs(seeds=range(1, 101))))
    for name, configs in grids:
        _, local = timed(f"{name}, local", len(configs), lambda: run_sweep(configs))
        for chunk in (None, 40):
            backend = Backend("dask", workers=args.workers, chunk_size=chunk)
            label = f"{name}, dask {args.workers} workers, " + ("a task per layout" if chunk is None else
                                                                  f"{chunk} runs per task")
            _, table = timed(label, len(configs), lambda: run_sweep(configs, backend=backend))
            assert table.equals(local), f"{label}: not the local table"
    print("\nEvery dask table equals the local one (DataFrame.equals).")


if __name__ == "__main__":
    main()
