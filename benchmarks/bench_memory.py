"""Training memory of one run: the engine's estimate (scansnap_core.scan_snap.engine.estimate_memory_bytes)
against the measured peak, over the configuration space the caps allow.

Each configuration runs in a fresh subprocess: it imports the engine, notes its resident set, builds
the Engine, trains a few steps, and reports the high-water mark of its resident set (``ru_maxrss``)
above that starting point.  The records a live run keeps (at most ``max_records``, thinned evenly) are
filled too, so the peak is that of a run late in its life.  The estimate must never be below the
measured peak and at most 1.5 x it.

Usage::

    python benchmarks/bench_memory.py            # the table below, as Markdown
    python benchmarks/bench_memory.py --quick    # the configurations the test suite checks
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys
sys.path.insert(0, sys.argv[1])
import torch
torch.set_num_threads(1)
from scansnap_core.scan_snap.config import RunConfig
from scansnap_core.scan_snap.engine import Engine, estimate_memory_bytes

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096

cfg = RunConfig.from_token(sys.argv[2])
max_records = int(sys.argv[3])
start = rss()
engine = Engine(cfg, max_records=max_records)
for _ in range(max_records + 1):  # fill the record history (one record per step), then a few steps more
    engine.step()
    engine.record()
    if len(engine.records) >= max_records:
        break
engine.step(2)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - start
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
    out = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), token, str(records)], capture_output=True,
                         text=True, check=True, timeout=1800)
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
