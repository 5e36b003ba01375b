"""The training-memory estimate against measured peaks (benchmarks/bench_memory.py runs the full set and
BENCHMARKS.md records it): never below the peak of a fresh process training the run, at most 1.5 x it.
The estimate used to be 0.01-0.19 x the peak, so the per-run cap did not cap."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from bench_memory import measure  # noqa: E402

from scansnap_core.scan_snap.presets import preset  # noqa: E402


@pytest.mark.parametrize("cfg, records", [
    (preset("fig3"), 40),  # zero init: Y is M x (K+1); the process's own working set dominates
    (preset("large"), 40),  # K = 100 classes
    (preset("fig3", init="default", optimizer="adam"), 40),  # a dense M x M decoder with Adam's state
    (preset("syn-small", num_query=1, next_per_query=1, common_global=5000, common_per_query=5000,
            distinct_per_class=5000, batch_size=2048, seq_len=64), 4),  # batch x support tensors dominate
], ids=["fig3", "large", "fig3-default-adam", "wide-support-batch-2048"])
def test_the_estimate_bounds_the_measured_peak_within_one_and_a_half(cfg, records):
    m = measure(cfg.to_token(), records)
    assert m["peak"] <= m["estimate"] <= 1.5 * m["peak"], (m["estimate"] / 2**20, m["peak"] / 2**20)
