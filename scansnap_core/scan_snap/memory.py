"""How much memory training a Scan & Snap run takes: the estimate the per-run cap
(SCANSNAP_MAX_RUN_MEMORY_MB), the server's budget (SCANSNAP_MAX_SERVER_MEMORY_MB) and the sidebar use.
Its terms are fitted as an upper envelope of measured peaks: benchmarks/bench_memory.py measures them
and BENCHMARKS.md ("Training memory") records estimate against peak (peaks are 67–100 % of it)."""

from __future__ import annotations

from ..lab.fields import ConfigError
from ..lab.limits import LIMITS
from .config import RunConfig

__all__ = ["check_memory", "estimate_memory_bytes", "tied_columns"]


def tied_columns(cfg: RunConfig) -> bool:
    """Whether the engine stores the never-target output columns once (exact under zero init only)."""
    return cfg.model.init == "zero" or cfg.model.init_scale == 0


#: Bytes a training step allocates per sequence, per entry of its class support S, of the decoder's
#: columns C and of the vocabulary M (sampling, forward, backward, the histograms F), plus a constant;
#: and per class and entry of the population pass that records metrics.  Fitted as an upper envelope
#: of measured peaks (benchmarks/bench_memory.py, BENCHMARKS.md "Training memory").
_STEP_BYTES = dict(support=40, columns=40, vocab=5, constant=6000)
_RECORD_BYTES = dict(support=64, columns=36)
#: bytes one kept record costs per class and support entry, and per record (arrays, objects, allocator)
_KEPT_RECORD_BYTES = dict(support=8, constant=4096)
#: what the first run in a process adds (torch's and the allocator's working set)
_PROCESS_BYTES = 72 * 2**20
#: a working set per entry of the class support that does not grow with the batch (measured at S = 15,000:
#: about 250 MB at every batch size; its source is not pinned down)
_SUPPORT_BYTES = 16 * 2**10


def estimate_memory_bytes(cfg: RunConfig, runs: int = 1, max_records: int | None = None) -> int:
    """Peak memory of training ``runs`` runs of ``cfg`` in one Engine keeping at most ``max_records``
    records: parameters and optimizer state, the kept records, and the larger of a training step's
    and a recording pass's temporaries."""
    M, K, Q = cfg.vocab_size, cfg.num_classes, cfg.data.num_query
    d = cfg.data
    S = d.distinct_per_class + d.common_global + d.common_per_query  # the largest class support
    C = K + 1 if tied_columns(cfg) else M
    t = cfg.train
    states = 2 if t.optimizer == "adam" else (1 if t.momentum > 0 else 0)
    adam_temporaries = 3 if t.optimizer == "adam" else 0  # the update's square root and quotients
    params = 4 * (M * C + Q * M) * (1 + states + adam_temporaries) + 4 * Q * M  # Y, Z, optimizer state, Z's grad
    kept = t.steps // t.record_every + 1
    records = (kept if max_records is None else min(kept, max_records + 1)) * (
        _KEPT_RECORD_BYTES["support"] * K * S + _KEPT_RECORD_BYTES["constant"])
    history = 2 * max(16, t.steps) * 9  # per-step loss, ‖ΔZ‖ and attended-changed, grown by doubling
    N = K if t.mode == "expected" else t.batch_size
    step = N * (_STEP_BYTES["support"] * S + _STEP_BYTES["columns"] * C + _STEP_BYTES["vocab"] * M
                + _STEP_BYTES["constant"])
    record = K * (_RECORD_BYTES["support"] * S + _RECORD_BYTES["columns"] * C)
    return _PROCESS_BYTES + _SUPPORT_BYTES * S + runs * (params + records + history + 64 * K * S + max(step, record))


def check_memory(cfg: RunConfig, max_records: int | None = None) -> None:
    """Refuse a run whose estimated training memory exceeds the per-run cap (SCANSNAP_MAX_RUN_MEMORY_MB)."""
    mb = estimate_memory_bytes(cfg, max_records=max_records) / 2**20
    if mb > LIMITS.max_run_memory_mb:
        hint = "; init = zero stores Y as M x (K+1) instead of M x M" if not tied_columns(cfg) else ""
        raise ConfigError("estimated memory in MB", round(mb), f"at most {LIMITS.max_run_memory_mb:,} per run "
                          f"(SCANSNAP_MAX_RUN_MEMORY_MB): lower vocab size M, batch_size or seq_len{hint}")
