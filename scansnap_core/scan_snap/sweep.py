"""Batched sweeps: many configurations × seeds in one process (docs/THEORY.md §7, Fig. 6).

Runs that share a layout and settings (they differ only in η_Y, η_Z and seed) are stacked
into one :class:`~scansnap_core.scan_snap.engine.Engine`, so a whole Fig. 6 panel trains as one
batched model.  Each run keeps its own generator, so its numbers equal those of the same
configuration trained alone.
"""

from __future__ import annotations

import collections
import functools
import itertools
import math
import queue
import threading
from typing import Callable, Iterable, Sequence

import pandas as pd

from ..lab.distributed import Backend, contiguous_chunks, run_chunks
from ..lab.fields import ConfigError
from ..lab.jobs import SweepJob
from ..lab.limits import LIMITS
from .config import RunConfig
from .engine import Engine, batch_key
from .events import detect_events_batch
from .memory import estimate_memory_bytes, tied_columns
from .presets import preset
from .theory import predictions_for

__all__ = ["FIG6_GRID", "fig6_configs", "cell_config", "run_sweep", "summarize_sweep", "sweep_job", "sweep_memory_bytes",
           "sweep_seconds", "MAX_SWEEP_RUNS"]

#: The paper's Fig. 6 grid (§7).
FIG6_GRID = {
    "num_query": (1, 3, 5, 10),
    "eta_z": (0.5, 1.0, 2.0, 3.0),
    "ratio": (1.0, 2.0, 5.0, 10.0),
    "seeds": tuple(range(1, 11)),
    "steps": 100,
}

#: Largest number of runs one sweep may contain (SCANSNAP_MAX_SWEEP_RUNS).
MAX_SWEEP_RUNS = LIMITS.max_sweep_runs

#: Seconds one run takes per step inside a batched group, on one core: a constant plus a term in the decoder's
#: size M × C (its update is the largest cost).  Fitted to Fig. 6 layouts with 160 runs × 100 steps a group
#: (benchmarks/bench_sweep_estimate.py, BENCHMARKS.md "Sweep time estimate"), with the batches drawn ahead (prefetch).
RUN_STEP_SECONDS = dict(constant=3.7e-4, decoder=1.15e-8)


def run_step_seconds(cfg: RunConfig) -> float:
    """Estimated seconds a run of ``cfg`` adds to a batched sweep step (see RUN_STEP_SECONDS)."""
    columns = cfg.num_classes + 1 if tied_columns(cfg) else cfg.vocab_size
    return RUN_STEP_SECONDS["constant"] + RUN_STEP_SECONDS["decoder"] * cfg.vocab_size * columns


def sweep_seconds(configs: Sequence[RunConfig]) -> float:
    """Estimated seconds :func:`run_sweep` takes for ``configs`` on one free core (a job corrects it with the
    speed it measures, :meth:`~scansnap_core.lab.jobs.SweepJob.remaining_seconds`)."""
    return sum(run_step_seconds(cfg) * cfg.train.steps for cfg in configs)


def fig6_configs(num_query: Iterable[int] = FIG6_GRID["num_query"], eta_z: Iterable[float] = FIG6_GRID["eta_z"],
                 ratio: Iterable[float] = FIG6_GRID["ratio"], seeds: Iterable[int] = FIG6_GRID["seeds"],
                 steps: int = FIG6_GRID["steps"], **overrides) -> list[RunConfig]:
    """Syn-Medium configurations for a grid of query-token counts, η_Z, η_Y/η_Z and seeds.

    With no arguments this is exactly the paper's Fig. 6 grid: 4 × 4 × 4 × 10 = 640 runs of
    100 steps (default init, SGD momentum 0.9, batch 128, T = 128)."""
    axes = [tuple(a) for a in (num_query, eta_z, ratio, seeds)]
    size = math.prod(len(a) for a in axes)
    if size > MAX_SWEEP_RUNS:  # counted before any configuration is built
        raise ConfigError("sweep size", size, f"at most {MAX_SWEEP_RUNS} runs")
    return [cell_config(q, ez, ratio_, seed, steps, record_every=steps, **overrides)
            for q, ez, ratio_, seed in itertools.product(*axes)]


def cell_config(num_query: int, eta_z: float, ratio: float, seed: int, steps: int = FIG6_GRID["steps"],
                **overrides) -> RunConfig:
    """The Syn-Medium run of one grid cell: ``num_query`` queries with two next tokens each (any count,
    not only the presets' 1, 3, 5, 10), η_Y = ratio · η_Z."""
    base = preset("syn-medium-1").replace(num_query=num_query)
    return base.replace(eta_z=eta_z, eta_y=ratio * eta_z, seed=seed, steps=steps, **overrides)


class _PrefetchedBatches:
    """Draws a sampled group's training batches in a background thread, up to two steps ahead, while torch
    computes (it releases the interpreter).  The thread makes the engine's own draws in the engine's order, so
    every run's generator gives the numbers it gives without prefetching.  (Splitting a step's draws over two
    threads gained nothing on 2 cores: the draws and torch already keep both busy.)  An error in the thread is
    raised in the step that needed the batch."""

    def __init__(self, engine: Engine, steps: int):
        self._engine, self._batches, self._stop = engine, queue.Queue(maxsize=2), threading.Event()
        self._thread = threading.Thread(target=self._fill, args=(steps,), name="scansnap-sampler", daemon=True)
        self._thread.start()
        engine._sample_inputs = self._next

    def _fill(self, steps: int) -> None:
        try:
            for _ in range(steps):
                if self._stop.is_set():  # the sweep stopped: no more draws
                    return
                self._put(self._engine.batch_inputs(*self._engine.draw_batches()))
        except Exception as err:  # handed to the training thread
            self._put(err)

    def _put(self, item) -> None:
        """Queue ``item`` unless the sweep has stopped meanwhile (then nobody will take it)."""
        while not self._stop.is_set():
            try:
                self._batches.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _next(self):
        batch = self._batches.get()
        if isinstance(batch, Exception):
            raise batch
        return batch

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def run_sweep(configs: Sequence[RunConfig], progress: Callable[[float, int], None] | None = None,
              partial: Callable[[pd.DataFrame], None] | None = None,
              should_stop: Callable[[], bool] | None = None, chunks: int = 10, prefetch: bool = True,
              backend: Backend | None = None) -> pd.DataFrame:
    """Train every configuration to its ``steps`` and return one row per run.

    Columns: num_query, K, M, eta_y, eta_z, ratio, seed, steps, entropy_distinct, final_loss,
    scan_peak_step and snap_step (NaN where there is none; :mod:`scansnap_core.scan_snap.events`), t0_prime, t0,
    diverged.  Rows keep the input order.

    Each batched group trains in ``chunks`` pieces; after each piece ``progress(done, total, work)``
    gets the runs done so far (fractional within a group) and the estimated seconds of work they stand for
    (:func:`sweep_seconds`), so that a job can tell how far it is when groups differ in cost.  ``should_stop()``, asked before every
    step, may end the sweep early: the table then holds the groups already finished.  ``partial(table)`` gets
    the finished rows after each group.  ``prefetch`` draws sampled groups' batches in a background thread
    (:class:`_PrefetchedBatches`; the same numbers either way).  ``backend``: where it trains; on a Dask cluster
    every batched group (or ``chunk_size`` runs of it) is one task, and the table is the same
    (:mod:`scansnap_core.lab.distributed`)."""
    if not configs:
        raise ConfigError("configs", [], "at least one configuration")
    if len(configs) > MAX_SWEEP_RUNS:
        raise ConfigError("sweep size", len(configs), f"at most {MAX_SWEEP_RUNS} runs")
    if backend is not None and backend.kind == "dask":
        configs = list(configs)
        return run_chunks(run_sweep, configs, contiguous_chunks([batch_key(c) for c in configs], backend.chunk_size),
                          backend, describe=_describe_chunk, estimate=sweep_seconds, progress=progress,
                          partial=partial, should_stop=should_stop)
    groups: dict[RunConfig, list[int]] = {}
    for i, cfg in enumerate(configs):
        groups.setdefault(batch_key(cfg), []).append(i)
    rows: list[dict | None] = [None] * len(configs)

    def table() -> pd.DataFrame:
        return pd.DataFrame([r for r in rows if r is not None])

    done, work = 0, 0.0
    for indices in groups.values():
        members = [configs[i] for i in indices]
        engine = Engine(members)
        steps = members[0].train.steps
        cost = sweep_seconds(members)
        piece = max(1, -(-steps // chunks))
        sampler = _PrefetchedBatches(engine, steps) if prefetch and members[0].train.mode != "expected" else None
        try:
            while engine.step_count < steps:
                if should_stop and should_stop():  # checked every step: a batched step of a large group takes long
                    return table()
                engine.step()
                if progress and (engine.step_count % piece == 0 or engine.step_count == steps):
                    share = engine.step_count / steps
                    progress(done + len(indices) * share, len(configs), work + cost * share)
        finally:
            if sampler is not None:
                sampler.close()
        final = engine.ensure_final_record()
        events = detect_events_batch(engine.dz_norms, engine.attended_changed)
        losses = engine.losses[-1]
        for r, (i, cfg) in enumerate(zip(indices, members)):
            t = cfg.train
            pred = predictions_for(cfg)
            rows[i] = {
                "num_query": cfg.data.num_query,
                "K": cfg.num_classes,
                "M": cfg.vocab_size,
                "eta_y": t.eta_y,
                "eta_z": t.eta_z,
                "ratio": round(cfg.eta_ratio, 9),  # the grid's ratio, without float noise
                "seed": t.seed,
                "steps": t.steps,
                "entropy_distinct": float(final.entropy_distinct[r]),
                "final_loss": float(losses[r]),
                "scan_peak_step": float(events["scan_peak_step"][r]),
                "snap_step": float(events["snap_step"][r]),
                "t0_prime": pred.t0_prime,
                "t0": pred.t0,
                "diverged": bool(engine.diverged_at[r] >= 0),
            }
        done, work = done + len(indices), work + cost
        if partial:
            partial(table())
    return table()


def _describe_chunk(configs: Sequence[RunConfig]) -> str:
    first = configs[0]
    return (f"{len(configs)} runs of the layout num_query = {first.data.num_query}, first η_Y = {first.train.eta_y:g}, "
            f"η_Z = {first.train.eta_z:g}, seed {first.train.seed}")


def sweep_job(configs: Sequence[RunConfig], backend: Backend | None = None) -> SweepJob:
    """:func:`run_sweep` of ``configs`` on ``backend`` as a background job (a page polls it)."""
    configs = list(configs)
    return SweepJob(functools.partial(run_sweep, configs, backend=backend), configs,
                    memory_bytes=sweep_memory_bytes(configs),
                    seconds=sweep_seconds(configs))


def sweep_memory_bytes(configs: Sequence[RunConfig]) -> int:
    """Estimated peak memory of :func:`run_sweep`: it holds one batched Engine (one group) at a time."""
    groups = collections.Counter(batch_key(cfg) for cfg in configs)
    return max(estimate_memory_bytes(cfg, runs) for cfg, runs in groups.items())


def summarize_sweep(table: pd.DataFrame) -> pd.DataFrame:
    """Per grid cell: mean ± standard deviation over seeds of the final distinct-token entropy (Fig. 6
    error bars), and the measured events: mean scan peak and snap step over the seeds that have one,
    and in how many seeds each exists (docs/THEORY.md, "Measured events")."""
    keys = ["num_query", "eta_z", "ratio"]
    g = table.groupby(keys)
    out = g["entropy_distinct"].agg(entropy_mean="mean", entropy_std="std", seeds="count").reset_index()
    out["entropy_std"] = out["entropy_std"].fillna(0.0)
    events = g.agg(scan_peak_mean=("scan_peak_step", "mean"), scan_peaks=("scan_peak_step", "count"),
                   snap_mean=("snap_step", "mean"), snapped=("snap_step", "count")).reset_index()
    return out.merge(events, on=keys)
