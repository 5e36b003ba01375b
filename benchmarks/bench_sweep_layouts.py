"""Where the Fig. 6 grid's time goes, per layout: the data draws against the training steps, each timed alone.

For each of the four layouts (160 runs × 100 steps), the 100 batches are drawn first (one numpy multinomial per
run and step, from the run's own generator: what keeps a run's numbers the same inside a sweep and alone),
then the engine trains on them.  One torch thread.  Prints Markdown.

    python benchmarks/bench_sweep_layouts.py [--tree PATH]   # PATH: another source tree, e.g. a git worktree
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import torch



def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tree", type=Path, default=Path(__file__).resolve().parent.parent, help="source tree to time")
    args = p.parse_args()
    sys.path.insert(0, str(args.tree.resolve()))
    from scansnap_core.scan_snap.engine import Engine
    from scansnap_core.scan_snap.sweep import FIG6_GRID, fig6_configs

    torch.set_num_threads(1)
    print(f"{platform.platform()}, torch {torch.__version__}, one torch thread; tree {args.tree}\n")
    print("| layout | runs | M = C | draws (s) | training (s) |")
    print("|---|---:|---:|---:|---:|")
    totals = [0.0, 0.0]
    for q in FIG6_GRID["num_query"]:
        engine = Engine(fig6_configs(num_query=(q,)))
        steps = engine.config.train.steps
        start = time.perf_counter()
        batches = iter([engine._sample_inputs() for _ in range(steps)])
        draws = time.perf_counter() - start
        engine._sample_inputs = lambda: next(batches)
        start = time.perf_counter()
        engine.step(steps)
        training = time.perf_counter() - start
        totals[0] += draws
        totals[1] += training
        print(f"| {q} queries | {engine.R} | {engine.M} | {draws:.2f} | {training:.2f} |", flush=True)
    print(f"| the grid | | | {totals[0]:.1f} | {totals[1]:.1f} |")


if __name__ == "__main__":
    main()
