"""Background sweep jobs for every study: a study's sweep function run in a thread for a page that
polls it (progress, the rows finished so far, cancel, any error as a message, never an exception in
the caller).  While it runs it counts among the process's trainers (:data:`~scansnap_core.lab.runner.TRAINERS`)
and takes its fair share of the interpreter like a live run, pausing between chunks."""

from __future__ import annotations

import threading
import time
import traceback
from typing import Callable, Protocol, Sequence

import pandas as pd

from .fair_share import TRAINERS

__all__ = ["SweepJob", "SweepFunction"]


class SweepFunction(Protocol):
    """What a study's sweep looks like to a job: it trains its grid and returns one row per run, calling
    ``progress(done, total, work)`` between chunks (runs done, of how many, and the estimated seconds of work
    they stand for), ``partial(table so far)`` after each group, and stopping early once
    ``should_stop()`` is true."""

    def __call__(self, progress: Callable[[float, int, float], None], partial: Callable[[pd.DataFrame], None],
                 should_stop: Callable[[], bool]) -> pd.DataFrame: ...


class SweepJob:
    """Runs ``sweep``, which trains the runs ``configs`` in at most ``memory_bytes`` (estimated), in a
    background thread; see the module docstring."""

    def __init__(self, sweep: SweepFunction, configs: Sequence, memory_bytes: int = 0, seconds: float = 0.0):
        self.configs = list(configs)
        self.memory_bytes = memory_bytes  # estimated peak, counted against the server's budget while it runs
        self.estimated_seconds = seconds  # the study's estimate of the whole sweep's work, on one free core
        self.total = len(self.configs)
        self.done = 0.0
        self.work = 0.0  # estimated seconds of work done so far (the sweep's progress reports it)
        self.measured = False  # a group has finished: the remaining time now scales with the measured speed
        self.table = pd.DataFrame()
        self.status = "running"  # running | finished | cancelled | error
        self.error = ""
        self.started = time.monotonic()
        self.elapsed = 0.0
        self._sweep = sweep
        self._stop = threading.Event()
        self._chunk_started = time.perf_counter()
        self._thread = threading.Thread(target=self._work, name="scansnap-sweep", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        import torch

        torch.set_num_threads(1)  # share the cores with the server and other sessions
        TRAINERS.add(self)
        try:
            table = self._sweep(progress=self._progress, partial=self._partial, should_stop=self._stop.is_set)
            self.table = table
            self.status = "cancelled" if self._stop.is_set() and len(table) < self.total else "finished"
        except Exception as err:  # reported to the page, which stays usable
            self.error = f"{type(err).__name__}: {err}\n{traceback.format_exc()}"
            self.status = "error"
        finally:
            TRAINERS.discard(self)
            self.elapsed = time.monotonic() - self.started

    def _progress(self, done: float, total: int, work: float = 0.0) -> None:
        self.done, self.work = done, work
        pause = TRAINERS.fair_pause(time.perf_counter() - self._chunk_started)
        if pause:
            self._stop.wait(pause)  # a cancel ends the pause
        self._chunk_started = time.perf_counter()

    def _partial(self, table: pd.DataFrame) -> None:
        self.table = table
        self.measured = True

    def remaining_seconds(self) -> float:
        """Seconds still to go: the estimate's remaining work at the speed measured so far, once a whole group
        has trained (the first chunks include warm-up); the estimate minus the time spent before that."""
        if not self.running:
            return 0.0
        if self.measured and self.work > 0:
            return self.seconds() * max(0.0, self.estimated_seconds - self.work) / self.work
        return max(0.0, self.estimated_seconds - self.seconds())

    @property
    def running(self) -> bool:
        return self.status == "running"

    @property
    def cancelling(self) -> bool:
        """Cancel was asked for and the job has not stopped yet (it stops between chunks)."""
        return self.running and self._stop.is_set()

    def seconds(self) -> float:
        return time.monotonic() - self.started if self.running else self.elapsed

    def cancel(self, wait: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(wait)
