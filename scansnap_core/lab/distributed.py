"""Sweeps on a Dask cluster (issue 18): any study's sweep function, run chunk by chunk as Dask tasks, gives the
table the local sweep gives.  The grid is cut into contiguous chunks of runs that the study trains together
(Scan & Snap: one batched layout group, or ``chunk_size`` runs of it); every chunk is the study's own sweep
of its runs, so each run trains exactly as it would locally, and the chunks' tables joined in grid order are
the local table.  Dask is an optional extra (requirements-dask.txt): imported only here, only when asked for.

Faults: a worker that dies mid-chunk is replaced and the chunk runs again (Dask's scheduler does that);
a chunk that raises is retried ``retries`` times; one that still fails ends the sweep with
:class:`ChunkFailed`, which names it and carries every finished chunk's rows; Ctrl-C (KeyboardInterrupt)
cancels the tasks and raises :class:`SweepInterrupted` with the finished rows too."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .fields import ConfigError, Range
from .limits import LIMITS

__all__ = ["ADDRESS_ENV", "BACKENDS", "BACKEND_ENV", "Backend", "ChunkFailed", "SweepInterrupted", "contiguous_chunks",
           "run_chunks", "server_backend"]

BACKENDS = ("local", "dask")
#: the scheduler a sweep goes to when no address is given (Dask's own variable)
ADDRESS_ENV = "DASK_SCHEDULER_ADDRESS"
#: the web server's sweep backend, set by whoever runs the server (the page never takes an address)
BACKEND_ENV = "SCANSNAP_SWEEP_BACKEND"


@dataclass(frozen=True)
class Backend:
    """Where a sweep trains: ``local`` (this process) or ``dask`` (the scheduler at ``address``, else
    $DASK_SCHEDULER_ADDRESS, else a LocalCluster of ``workers`` single-threaded processes on 127.0.0.1).
    ``chunk_size``: runs per task at most (None: a whole batched group); ``retries``: reruns of a failing chunk."""

    kind: str = "local"
    address: str | None = None
    workers: int = 2
    chunk_size: int | None = None
    retries: int = 2

    def __post_init__(self):
        if self.kind not in BACKENDS:
            raise ConfigError("backend", self.kind, " or ".join(BACKENDS))
        Range(1, 256, integer=True).check("workers", self.workers)
        Range(0, 256, integer=True).check("retries", self.retries)
        if self.chunk_size is not None:
            Range(1, LIMITS.max_sweep_runs, integer=True).check("chunk_size", self.chunk_size)

    @property
    def available(self) -> bool:
        """Whether this Python can use the backend (dask is an optional extra)."""
        return self.kind == "local" or importlib.util.find_spec("distributed") is not None

    @property
    def scheduler(self) -> str | None:
        """The address sweeps go to; None: a LocalCluster started for the sweep."""
        return self.address or os.environ.get(ADDRESS_ENV) or None

    def describe(self) -> str:
        if self.kind == "local":
            return "local: this process"
        where = self.scheduler or f"a local cluster of {self.workers} worker processes on 127.0.0.1"
        return f"dask: {where}"


def server_backend() -> Backend:
    """The backend the web server's sweeps use: $SCANSNAP_SWEEP_BACKEND (local by default) and, for dask,
    $DASK_SCHEDULER_ADDRESS; both are set by whoever runs the server."""
    kind = os.environ.get(BACKEND_ENV, "").strip().lower() or "local"
    if kind not in BACKENDS:
        raise ConfigError(BACKEND_ENV, kind, " or ".join(BACKENDS))
    return Backend(kind=kind)


class ChunkFailed(RuntimeError):
    """A chunk failed on every try.  ``table``: the rows of every chunk that finished (grid order)."""

    def __init__(self, message: str, table: pd.DataFrame):
        super().__init__(message)
        self.table = table


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during a cluster sweep: its tasks were cancelled.  ``table``: the finished chunks' rows."""

    def __init__(self, table: pd.DataFrame):
        super().__init__("interrupted")
        self.table = table


def contiguous_chunks(keys: Sequence[Any], chunk_size: int | None = None) -> list[slice]:
    """Cut runs into contiguous slices: a new one where the key changes (runs with one key train together) or
    after ``chunk_size`` runs."""
    chunks, start = [], 0
    for i in range(1, len(keys) + 1):
        if i == len(keys) or keys[i] != keys[start] or (chunk_size and i - start >= chunk_size):
            chunks.append(slice(start, i))
            start = i
    return chunks


def _train_chunk(sweep: Callable[..., pd.DataFrame], configs: list, threads: int) -> pd.DataFrame:
    """One task: the study's own sweep of the chunk's runs, on ``threads`` torch threads."""
    import torch

    torch.set_num_threads(threads)
    return sweep(configs)


@contextlib.contextmanager
def _client(backend: Backend):
    from dask.distributed import Client, LocalCluster

    if backend.scheduler:
        with Client(backend.scheduler, timeout="20s") as client:
            yield client
        return
    # the workers ignore Ctrl-C (they inherit that when they start): the sweep's own process stops them, and
    # a terminal's Ctrl-C reaching them too would only add their tracebacks to its message
    here = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if here else None
    try:
        cluster = LocalCluster(n_workers=backend.workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address="127.0.0.1:0", silence_logs=40)
    finally:
        if here:
            signal.signal(signal.SIGINT, previous)
    with cluster, Client(cluster) as client:
        yield client


def run_chunks(sweep: Callable[..., pd.DataFrame], configs: Sequence, chunks: Sequence[slice], backend: Backend,
               describe: Callable[[Sequence], str] = lambda c: f"{len(c)} runs",
               estimate: Callable[[Sequence], float] = lambda c: float(len(c)),
               progress: Callable[[float, int, float], None] | None = None,
               partial: Callable[[pd.DataFrame], None] | None = None,
               should_stop: Callable[[], bool] | None = None, threads: int = 1) -> pd.DataFrame:
    """``sweep(configs[chunk])`` for every chunk as Dask tasks; the tables joined in chunk order.  After each
    finished chunk, ``progress(runs done, runs, estimated work done)`` and ``partial(table so far)``;
    ``should_stop()`` (asked while waiting) cancels the rest and returns the finished chunks' rows."""
    from dask.distributed import as_completed

    results: list[pd.DataFrame | None] = [None] * len(chunks)
    failures: list[str] = []

    def table() -> pd.DataFrame:
        done = [t for t in results if t is not None]
        return pd.concat(done, ignore_index=True) if done else pd.DataFrame()

    tag = uuid.uuid4().hex[:8]
    with _client(backend) as client:
        futures = [client.submit(_train_chunk, sweep, list(configs[chunk]), threads, key=f"scansnap-{tag}-{i}",
                                 retries=backend.retries, pure=False) for i, chunk in enumerate(chunks)]
        order = {future.key: i for i, future in enumerate(futures)}
        runs = work = 0.0
        pending = as_completed(futures, with_results=False)
        try:
            while not pending.is_empty():
                finished = _wait_one(pending, should_stop)
                if finished is None:  # asked to stop
                    client.cancel(futures)
                    return table()
                for future in finished:
                    i = order[future.key]
                    members = configs[chunks[i]]
                    if future.status == "error":
                        error = future.exception()
                        failures.append(f"chunk {i + 1} of {len(chunks)} ({describe(members)}) failed after "
                                        f"{backend.retries} retries: {type(error).__name__}: {error}")
                        continue
                    results[i] = future.result()
                    runs, work = runs + len(members), work + estimate(members)
                    if progress:
                        progress(runs, len(configs), work)
                    if partial:
                        partial(table())
        except KeyboardInterrupt:
            client.cancel(futures)
            raise SweepInterrupted(table()) from None
    if failures:
        raise ChunkFailed("; ".join(failures) + f". The {sum(t is not None for t in results)} finished chunks' "
                          "rows are kept.", table())
    return table()


def _wait_one(pending, should_stop: Callable[[], bool] | None):
    """The next finished futures (None: asked to stop), looking every quarter second so a stop is heard."""
    while True:
        batch = pending.next_batch(block=False)
        if batch:
            return batch
        if should_stop and should_stop():
            return None
        time.sleep(0.25)
