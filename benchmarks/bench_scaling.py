"""How the cost grows: engine steps/s against the vocabulary size M (zero and default init), and the batched
sweep's time against its number of runs.  Prints Markdown.

    python benchmarks/bench_scaling.py [--seconds 3] [--device auto]

Steps/s: one run of the family "K classes x 99 distinct tokens + 1 common token, one query" (S = 100 tokens
in each class's support), M = 100 K + 2 for K = 1 ... 199, batch 128, T = 128, SGD momentum 0.9; each
speed is the best of 3 timed chunks after warm-up.  A configuration the server's memory cap refuses is
listed with the engine's own message.  Sweep: the Fig. 6 grid (4 layouts x 4 eta_Z x 4 ratios) with 1, 10
and 100 seeds, 100 steps each: 64, 640 and 6,400 runs.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from scansnap_core.lab.devices import describe_devices  # noqa: E402
from scansnap_core.lab.fields import ConfigError  # noqa: E402
from scansnap_core.scan_snap.config import DataConfig, ModelConfig, RunConfig, TrainConfig  # noqa: E402
from scansnap_core.scan_snap.engine import Engine  # noqa: E402
from scansnap_core.scan_snap.sweep import fig6_configs, run_sweep  # noqa: E402

CLASSES = (1, 3, 10, 30, 100, 199)  # M = 102 ... 19,902 (the cap is 20,000)


def family(classes: int, init: str, device: str) -> RunConfig:
    return RunConfig(DataConfig(num_query=1, next_per_query=classes, distinct_per_class=99, common_global=1),
                     ModelConfig(init=init),
                     TrainConfig(eta_y=1.0, eta_z=0.5, momentum=0.9, steps=100_000, record_every=100_000,
                                 device=device))


def steps_per_second(cfg: RunConfig, seconds: float) -> float | str:
    try:
        engine = Engine(cfg, max_records=10)
    except ConfigError as err:
        return f"refused: {err}"
    engine.step(2)
    start = time.perf_counter()
    engine.step(1)
    chunk = max(1, int(seconds / 3 / max(time.perf_counter() - start, 1e-4)))
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        engine.step(chunk)
        if engine.device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, (time.perf_counter() - start) / chunk)
    return 1 / best


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=3.0, help="time per steps/s measurement")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 10, 100], help="seed counts of the sweep table")
    args = p.parse_args()
    print(f"{platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, torch "
          f"{torch.__version__}, {torch.get_num_threads()} torch threads; {describe_devices()}; device={args.device}\n")
    print("| K | M | zero init: steps/s | default init: steps/s |")
    print("|---:|---:|---:|---:|")
    for k in CLASSES:
        speeds = [steps_per_second(family(k, init, args.device), args.seconds) for init in ("zero", "default")]
        cells = [f"{s:,.1f}" if isinstance(s, float) else s for s in speeds]
        print(f"| {k} | {100 * k + 2:,} | {cells[0]} | {cells[1]} |", flush=True)
    print("\n| runs (Fig. 6 grid x seeds) | run-steps | seconds | ms per 1,000 run-steps |")
    print("|---:|---:|---:|---:|")
    for seeds in args.seeds:
        configs = fig6_configs(seeds=range(1, seeds + 1), device=args.device)
        start = time.perf_counter()
        run_sweep(configs)
        seconds = time.perf_counter() - start
        work = len(configs) * configs[0].train.steps
        print(f"| {len(configs):,} | {work:,} | {seconds:.1f} | {seconds / work * 1e6:.0f} |", flush=True)


if __name__ == "__main__":
    main()
