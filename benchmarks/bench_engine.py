"""Training speed of :class:`scansnap_core.scan_snap.engine.Engine` against the two baselines.

Prints Markdown to stdout:

1. steps/s of the engine, the reference-style baseline and the dense vectorised baseline,
   side by side in this process, at Syn-Small, Syn-Medium-10, Fig. 3 and "large"
   (M = 10,002, zero and default init), all batch 128, T = 128, with the targets;
2. peak memory (peak RSS of a fresh subprocess per measurement) at M = 10,002;
3. step time versus M ≈ 100, 1,000, 10,000 (Fig. 3-like layouts);
4. the overhead of recording the per-class metrics every step.

Each speed is measured after warm-up: one calibration step sets how many steps fill about
``--seconds`` seconds, then those steps are timed with ``time.perf_counter``.  The engine is
called as ``engine.step(n)``.  Usage::

    python benchmarks/bench_engine.py            # full (a few minutes)
    python benchmarks/bench_engine.py --quick    # smoke check
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from baselines import BASELINES, ROOT  # noqa: E402

from scansnap_core.scan_snap.config import RunConfig  # noqa: E402
from scansnap_core.scan_snap.engine import Engine  # noqa: E402
from scansnap_core.scan_snap.presets import preset  # noqa: E402

PRESETS = ("syn-small", "syn-medium-10", "fig3", "large")
#: Fig. 3-like layouts (K classes sharing one query, D distinct tokens each): M = K·D + K + 2
COST_LAYOUTS = ((10, 9), (10, 99), (100, 99))
MAX_RSS_TARGET_MB = 2048


@dataclass
class Settings:
    seconds: float  # time one measurement for about this long in all
    warmup: int  # untimed steps first
    max_steps: int  # most steps in one timed chunk
    repeats: int = 3  # timed chunks; the fastest is reported (others absorb interference)


FULL = Settings(seconds=3.0, warmup=2, max_steps=5000)
QUICK = Settings(seconds=0.05, warmup=1, max_steps=20)


# --------------------------------------------------------------------------- measuring
class EngineTrainer:
    """Adapter: the engine with the baselines' ``step(n)`` interface."""

    def __init__(self, cfg: RunConfig):
        self.engine = Engine(cfg)

    def step(self, n: int = 1) -> None:
        self.engine.step(n)


TRAINERS: dict[str, Callable[[RunConfig], object]] = {"engine": EngineTrainer, **BASELINES}


@dataclass
class Timing:
    steps: int
    seconds: float
    note: str = ""

    @property
    def sps(self) -> float:
        return self.steps / self.seconds if self.seconds > 0 else math.nan


def time_steps(trainer, s: Settings, steps: int | None = None) -> Timing:
    """Warm up, then time ``s.repeats`` chunks of ``steps`` steps (default: as many as fill
    ``s.seconds / s.repeats``) and return the fastest chunk."""
    trainer.step(s.warmup)
    if steps is None:
        t = time.perf_counter()
        trainer.step(1)
        one = time.perf_counter() - t
        if one >= s.seconds / s.repeats:  # a slow trainer: the calibration step is the measurement
            return Timing(1, one)
        steps = int(min(s.max_steps, max(1, math.ceil(s.seconds / s.repeats / one))))
    best = math.inf
    for _ in range(s.repeats):
        t = time.perf_counter()
        trainer.step(steps)
        best = min(best, time.perf_counter() - t)
    return Timing(steps, best)


def reference_memory_bytes(cfg: RunConfig) -> int:
    """Rough peak of the reference-style baseline: the one-hot batch (float32, plus the bmm
    copies of it) and the two M × M layers with gradients and optimizer state."""
    M, B, T = cfg.vocab_size, cfg.train.batch_size, cfg.train.seq_len
    states = 2 if cfg.train.optimizer == "adam" else (1 if cfg.train.momentum > 0 else 0)
    return 4 * (2 * B * T * M + 2 * M * M * (2 + states))


def physical_memory_bytes() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def measure(kind: str, cfg: RunConfig, s: Settings, steps: int | None = None) -> Timing | str:
    """Time one trainer; a string says why it was skipped."""
    if kind == "reference":
        need = reference_memory_bytes(cfg)
        if need > 0.5 * physical_memory_bytes():
            return f"skipped: needs ~{need / 2**30:.1f} GiB (one-hot B×T×M + M×M layers)"
    try:
        return time_steps(TRAINERS[kind](cfg), s, steps)
    except (MemoryError, RuntimeError) as exc:
        return f"failed: {type(exc).__name__}: {str(exc).splitlines()[0][:80]}"


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MB.

    Linux keeps ``ru_maxrss`` across fork + exec, so a child started by a large parent
    reports the parent's peak; ``VmHWM`` (the high-water mark of this address space) does not
    have that flaw and is used where available."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child_main(spec: str) -> None:
    """Subprocess entry: build one trainer, run its steps, print peak RSS and speed as JSON."""
    job = json.loads(spec)
    cfg = RunConfig.from_dict(job["config"])
    before = peak_rss_mb()
    result = measure(job["kind"], cfg, Settings(job["seconds"], job["warmup"], job["max_steps"], repeats=1))
    out = {"after_imports_mb": before, "peak_mb": peak_rss_mb()}
    out.update({"sps": result.sps, "steps": result.steps} if isinstance(result, Timing) else {"error": result})
    print(json.dumps(out))


def measure_memory(kind: str, cfg: RunConfig, s: Settings) -> dict:
    """Peak resident memory of training ``kind`` on ``cfg`` in a fresh Python process."""
    spec = json.dumps({"kind": kind, "config": cfg.to_dict(), "seconds": s.seconds, "warmup": s.warmup,
                       "max_steps": s.max_steps})
    proc = subprocess.run([sys.executable, __file__, "--child", spec], cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": f"exit {proc.returncode}: {proc.stderr.strip().splitlines()[-1][:100] if proc.stderr else ''}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- formatting
def fmt(x, digits: int = 3) -> str:
    if isinstance(x, str):
        return x
    if x is None or not math.isfinite(x):
        return "—"
    return f"{x:.{digits}g}" if abs(x) < 10 ** digits else f"{x:,.0f}"


def sps(result: Timing | str) -> float | str:
    return result.sps if isinstance(result, Timing) else result


def ratio(a: Timing | str, b: Timing | str) -> float:
    return a.sps / b.sps if isinstance(a, Timing) and isinstance(b, Timing) else math.nan


def table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(fmt(c) if not isinstance(c, str) else c for c in row) + " |" for row in rows]
    return "\n".join(lines)


def machine_info() -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return "\n".join([
        f"- platform: {platform.platform()} ({platform.machine()}, {platform.processor() or 'cpu'})",
        f"- os.cpu_count(): {os.cpu_count()}; torch threads: {torch.get_num_threads()}; "
        f"memory: {physical_memory_bytes() / 2**30:.1f} GiB; load average at start: {load}",
        f"- python {platform.python_version()}, torch {torch.__version__}, numpy {np.__version__}",
    ])


# --------------------------------------------------------------------------- sections
def speed_section(s: Settings, presets: tuple[str, ...]) -> tuple[str, dict]:
    """The steps/s table and the targets; also returns the timings by layout and trainer."""
    # training steps only, as the baselines do; the cost of recording metrics has its own table
    cases = [(name, preset(name, record_every=100_000)) for name in presets]
    if "large" in presets:
        cases.append(("large, init=default", preset("large", record_every=100_000, init="default")))
    rows, found = [], {}
    for name, cfg in cases:
        res = {kind: measure(kind, cfg, s) for kind in TRAINERS}
        found[name] = res
        rows.append([name, str(cfg.vocab_size), sps(res["engine"]), sps(res["reference"]), sps(res["dense"]),
                     ratio(res["engine"], res["reference"]), ratio(res["engine"], res["dense"])])
        print(f"  measured {name}", file=sys.stderr)
    out = ["## Steps per second (batch 128, T = 128; best of 3 timed chunks; training steps only — "
           "metric recording is measured in its own table below)\n",
           table(["layout", "M", "engine steps/s", "reference-style steps/s", "dense steps/s",
                  "engine/reference", "engine/dense"], rows), ""]
    checks = [("≥10x reference-style at syn-medium-10", "syn-medium-10", "reference", 10),
              ("≥50x reference-style at fig3", "fig3", "reference", 50),
              ("≥1.5x dense at fig3", "fig3", "dense", 1.5)]
    out.append("Targets:\n")
    for label, name, base, target in checks:
        if name in found:
            r = ratio(found[name]["engine"], found[name][base])
            out.append(f"- {label}: {fmt(r)}x — {'met' if r >= target else 'NOT met'}")
    slower = [n for n, r in found.items() if ratio(r["engine"], r["dense"]) < 1]
    out.append(f"- never slower than dense: {'met' if not slower else 'NOT met at ' + ', '.join(slower)}")
    return "\n".join(out), found


def memory_section(s: Settings, speeds: dict) -> str:
    """Peak RSS per trainer in fresh processes; the 2 GB target uses the speed table's steps/s."""
    large = preset("large")
    jobs = [("engine", "large (zero init)", large), ("engine", "large, init=default", large.replace(init="default")),
            ("dense", "large (zero init)", large), ("reference", "large (zero init)", large)]
    rows = []
    for kind, label, cfg in jobs:
        if kind == "reference" and reference_memory_bytes(cfg) > 0.5 * physical_memory_bytes():
            rows.append([kind, label, "—", "—", "skipped (memory estimate)"])
            continue
        r = measure_memory(kind, cfg, s)
        print(f"  memory {kind} {label}", file=sys.stderr)
        if "error" in r:
            rows.append([kind, label, "—", "—", r["error"]])
        else:
            rows.append([kind, label, r["peak_mb"], r["after_imports_mb"], f"{r['steps']} timed step(s) after warm-up"])
    out = ["## Peak memory at M = 10,002 (peak RSS, VmHWM, of a fresh process: imports + warm-up + timed steps)\n",
           table(["trainer", "config", "peak RSS (MB)", "RSS after imports (MB)", "steps run"], rows), ""]
    peak, timing = rows[0][2], speeds.get("large", {}).get("engine")
    if isinstance(peak, float) and isinstance(timing, Timing):
        met = timing.sps >= 10 and peak <= MAX_RSS_TARGET_MB
        out.append(f"Target M≈10,000 at ≥10 steps/s within 2 GB (engine, zero init): {fmt(timing.sps)} steps/s "
                   f"(speed table), peak {fmt(peak, 4)} MB — {'met' if met else 'NOT met'}")
    return "\n".join(out)


def cost_section(s: Settings) -> str:
    rows = []
    for K, D in COST_LAYOUTS:
        cfg = preset("fig3").replace(next_per_query=K, distinct_per_class=D, record_every=100_000)
        res = {"engine zero": measure("engine", cfg, s), "engine default": measure("engine", cfg.replace(init="default"), s),
               "dense": measure("dense", cfg, s)}
        ms = {k: 1000 / v.sps if isinstance(v, Timing) else v for k, v in res.items()}
        rows.append([str(K), str(D), str(cfg.vocab_size), ms["engine zero"], ms["engine default"], ms["dense"],
                     ratio(res["engine zero"], res["dense"]), ratio(res["engine default"], res["dense"])])
        print(f"  cost M={cfg.vocab_size}", file=sys.stderr)
    return "\n".join([
        "## Step time versus M (Fig. 3-like: K classes, one query, D distinct + 1 common token; plain SGD)\n",
        table(["K", "D", "M", "engine zero init (ms)", "engine default init (ms)", "dense (ms)",
               "dense/engine zero", "dense/engine default"], rows)])


def overhead_section(s: Settings, presets: tuple[str, ...]) -> str:
    rows = []
    for name in presets:
        cfg = preset(name, record_every=1)
        every = measure("engine", cfg, s)
        if not isinstance(every, Timing):
            rows.append([name, every, "—", "—"])
            continue
        # record_every = the timed chunk length: one recording per chunk instead of one per step
        end_cfg = cfg.replace(record_every=min(100_000, every.steps))
        end = measure("engine", end_cfg, s, steps=every.steps)
        overhead = 100 * (end.sps / every.sps - 1) if isinstance(end, Timing) else math.nan
        rows.append([name, every.sps, sps(end), overhead])
        print(f"  overhead {name}", file=sys.stderr)
    return "\n".join([
        "## Metric-recording overhead (engine; loss and ‖ΔZ‖ are kept every step in both columns)\n",
        table(["layout", "record_every=1 steps/s", "record_every=steps steps/s", "overhead per step (%)"], rows)])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny step counts (smoke check)")
    p.add_argument("--presets", nargs="+", default=list(PRESETS), choices=PRESETS, help="layouts of the speed tables")
    p.add_argument("--seconds", type=float, help="target duration of one measurement (default 3; --quick 0.05)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child_main(args.child)
        return
    s = QUICK if args.quick else FULL
    if args.seconds is not None:
        s = Settings(args.seconds, s.warmup, s.max_steps)
    presets = tuple(args.presets)
    start = time.perf_counter()
    for kind in TRAINERS:  # one-time lazy initialisation (first torch calls) outside any timing
        TRAINERS[kind](preset("syn-small")).step(2)
    print("# Engine benchmark" + (" (--quick: tiny step counts, numbers are NOT meaningful)" if args.quick else ""))
    print("\n" + machine_info() + "\n")
    text, speeds = speed_section(s, presets)
    print(text + "\n", flush=True)
    for section in (lambda: memory_section(s, speeds), lambda: cost_section(s), lambda: overhead_section(s, presets)):
        print(section() + "\n", flush=True)
    print(f"Total benchmark time: {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
