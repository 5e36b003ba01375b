"""Training memory of one run: the engine's estimate (scansnap_core.scan_snap.memory.estimate_memory_bytes)
against the measured peak, over the configuration space the caps allow.

Each configuration runs in a fresh subprocess: it imports the engine, notes its resident set, builds
the Engine, trains ``max_records`` + 2 steps recording every step, so the history a run keeps (at most
``max_records`` records, thinned evenly) fills up as late in a long run, and reports the high-water mark
of its resident set (``VmHWM``) above that starting point.  The goal: the estimate never below the
measured peak and at most 1.5 x it (not met yet: BENCHMARKS.md, "Training memory").

Usage::

    python benchmarks/bench_memory.py            # the table below, as Markdown
    python benchmarks/bench_memory.py --quick    # the configurations the test suite checks
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import torch
torch.set_num_threads(1)
from scansnap_core.scan_snap.config import RunConfig
from scansnap_core.scan_snap.engine import Engine
from scansnap_core.scan_snap.memory import estimate_memory_bytes

def status_kb(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))

def rss():
    return status_kb("VmRSS") * 1024

max_records = int(sys.argv[3])
steps = max_records + 2  # one record per step: the history fills up (then it is thinned), as in a long run
cfg = RunConfig.from_token(sys.argv[2]).replace(record_every=1, steps=steps)
start = rss()
engine = Engine(cfg, max_records=max_records)
engine.step(steps)
peak = status_kb("VmHWM") * 1024 - start  # this process's high-water mark (ru_maxrss would include
# the parent's: Linux keeps it across exec)
print(json.dumps({"peak": peak, "estimate": estimate_memory_bytes(cfg, max_records=max_records)}))
"""


def configurations(quick: bool) -> list[tuple[str, str, int]]:
    """(description, config token, records kept) over the corners of the configuration space."""
    sys.path.insert(0, str(ROOT))
    from scansnap_core.scan_snap.presets import preset

    big_batch = dict(batch_size=8192, seq_len=8192)
    cases = [
        ("fig3, zero init, batch 128", preset("fig3"), 40),
        ("large (K = 100), zero init", preset("large"), 40),
        ("syn-small layout, M = 15,002, K = 1, batch 2048, T = 2048",
         preset("syn-small", num_query=1, next_per_query=1, common_global=5000, common_per_query=5000,
                distinct_per_class=5000, batch_size=2048, seq_len=2048), 4),
        ("fig3, default init (dense M x M), Adam", preset("fig3", init="default", optimizer="adam"), 40),
    ]
    if not quick:
        cases += [
            ("the largest the caps allow: M = 15,002, K = 1, batch 8192, T = 8192",
             preset("syn-small", num_query=1, next_per_query=1, common_global=5000, common_per_query=5000,
                    distinct_per_class=5000, **big_batch), 4),
            ("K = 9,000 (90 queries x 100 next tokens), 1 distinct token each",
             preset("syn-small", num_query=90, next_per_query=100, distinct_per_class=1, common_global=1,
                    common_per_query=1), 40),
            ("large, default init (dense 10,002 x 10,002), momentum", preset("large", init="default"), 10),
            ("fig3, expected mode", preset("fig3", mode="expected"), 40),
            ("syn-medium-10, default init, batch 1024, T = 1024", preset("syn-medium-10", batch_size=1024,
                                                                        seq_len=1024), 40),
            ("fig3, 1,500 records kept (a live run's history)", preset("fig3"), 1500),
        ]
    return [(name, cfg.to_token(), records) for name, cfg, records in cases]


def measure(token: str, records: int) -> dict:
    env = {**os.environ, "SCANSNAP_MAX_RUN_MEMORY_MB": "1000000"}  # measure beyond the cap, too
    out = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), token, str(records)], capture_output=True,
                         text=True, check=True, timeout=1800, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the configurations the tests check")
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}\n")
    print("| configuration | records kept | estimate (MB) | measured peak (MB) | estimate / peak |")
    print("|---|---|---|---|---|")
    worst = []
    for name, token, records in configurations(args.quick):
        m = measure(token, records)
        ratio = m["estimate"] / m["peak"]
        worst.append(ratio)
        print(f"| {name} | {records} | {m['estimate'] / 2**20:,.0f} | {m['peak'] / 2**20:,.0f} | {ratio:.2f} |",
              flush=True)
    print(f"\nestimate / peak: from {min(worst):.2f} to {max(worst):.2f} (required: 1.00 to 1.50)")


if __name__ == "__main__":
    main()
