"""Wall time of the full Fig. 6 sweep, batched, against one process per run.

Prints Markdown to stdout:

1. the batched sweep ``run_sweep(fig6_configs())`` (640 runs x 100 steps: 4 layouts x 4 η_Z x
   4 η_Y/η_Z x 10 seeds), with progress after every tenth of a batched group (one group per layout);
2. the "one process per run" estimate: three fresh ``python -m scansnap_core run`` subprocesses
   (Syn-Medium with 1, 5 and 10 query tokens, the same step count) are timed and
   extrapolated to the grid's runs of each of the 4 layouts (the 3-query layout, not
   measured, is interpolated linearly in M between 1 and 5 queries); for reference also
   one run at a time in this process (no interpreter start-up, no file output).

Usage::

    python benchmarks/bench_sweep.py            # full Fig. 6 grid
    python benchmarks/bench_sweep.py --quick    # 2 seeds x 10 steps (smoke check)
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scansnap_core.scan_snap.engine import Engine  # noqa: E402
from scansnap_core.scan_snap.presets import preset  # noqa: E402
from scansnap_core.scan_snap.sweep import FIG6_GRID, fig6_configs, run_sweep  # noqa: E402

MEASURED_QUERIES = (1, 5, 10)


def time_subprocess_run(num_query: int, steps: int) -> float:
    """Seconds of one fresh ``python -m scansnap_core run`` (start-up, training, writing tables)."""
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "scansnap_core", "run", "--preset", f"syn-medium-{num_query}",
               "--steps", str(steps), "--out", out]
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr.strip()[-300:]}")
    return elapsed


def time_in_process_run(num_query: int, steps: int) -> float:
    """Seconds of one run of the sweep's configuration trained alone in this process."""
    cfg = fig6_configs(num_query=[num_query], eta_z=[1.0], ratio=[1.0], seeds=[1], steps=steps)[0]
    start = time.perf_counter()
    engine = Engine(cfg)
    engine.step(steps)
    engine.ensure_final_record()
    return time.perf_counter() - start


def interpolate(m: float, known: dict[int, tuple[int, float]]) -> float:
    """Linear interpolation in M of per-run seconds between measured layouts."""
    ms, ts = zip(*sorted(known.values()))
    return float(np.interp(m, ms, ts))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="2 seeds x 10 steps instead of 10 seeds x 100 steps")
    args = p.parse_args()
    seeds = (1, 2) if args.quick else FIG6_GRID["seeds"]
    steps = 10 if args.quick else FIG6_GRID["steps"]
    configs = fig6_configs(seeds=seeds, steps=steps)
    layouts = FIG6_GRID["num_query"]
    per_layout = len(configs) // len(layouts)

    print("# Fig. 6 sweep benchmark" + (" (--quick: reduced grid, numbers are NOT meaningful)" if args.quick else ""))
    print(f"\n- {platform.platform()}; os.cpu_count() = {os.cpu_count()}; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; load average at start: "
          + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    print(f"- grid: {len(layouts)} layouts x {len(FIG6_GRID['eta_z'])} eta_Z x {len(FIG6_GRID['ratio'])} ratios x "
          f"{len(seeds)} seeds = {len(configs)} runs x {steps} steps\n")

    print("## Batched sweep (`run_sweep(fig6_configs())`)\n")
    start = time.perf_counter()
    last = [start]

    def progress(done: float, total: int, _work: float) -> None:  # after every tenth of a group
        now = time.perf_counter()
        print(f"- {done:.0f}/{total} runs done, {now - last[0]:.1f} s since the last report, elapsed "
              f"{now - start:.1f} s", flush=True)
        last[0] = now

    table = run_sweep(configs, progress=progress)
    batched = time.perf_counter() - start
    print(f"\n**Total: {batched:.1f} s** for {len(table)} runs ({1000 * batched / len(table):.1f} ms per run); "
          f"{int(table['diverged'].sum())} runs diverged.\n")

    print("## One process per run (extrapolated, not measured in full)\n")
    sub, alone = {}, {}
    for q in MEASURED_QUERIES:
        M = preset(f"syn-medium-{q}").vocab_size
        sub[q] = (M, time_subprocess_run(q, steps))
        alone[q] = (M, time_in_process_run(q, steps))
        print(f"- measured num_query = {q} (M = {M}): subprocess {sub[q][1]:.2f} s, in-process {alone[q][1]:.3f} s",
              flush=True)
    rows, naive_total, alone_total = [], 0.0, 0.0
    for q in layouts:
        M = preset("syn-medium-1").replace(num_query=q).vocab_size
        how = "measured" if q in sub else "interpolated in M"
        t_sub = sub[q][1] if q in sub else interpolate(M, sub)
        t_alone = alone[q][1] if q in alone else interpolate(M, alone)
        naive_total += per_layout * t_sub
        alone_total += per_layout * t_alone
        rows.append(f"| {q} | {M} | {how} | {t_sub:.2f} | {per_layout} | {per_layout * t_sub:.0f} | {t_alone:.3f} |")
    print("\n| num_query | M | per-run time | subprocess s/run | runs | subprocess s (extrapolated) | in-process s/run |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print(f"\n- one process per run (extrapolation: measured/interpolated seconds per run x {per_layout} runs per "
          f"layout): **{naive_total:.0f} s**, {naive_total / batched:.1f}x the batched sweep")
    print(f"- one run at a time in one process (no start-up or file output; same extrapolation): "
          f"{alone_total:.0f} s, {alone_total / batched:.1f}x the batched sweep")
    print(f"- batched sweep (measured): {batched:.1f} s")


if __name__ == "__main__":
    main()
