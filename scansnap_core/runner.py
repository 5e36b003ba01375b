"""Background training, free of any UI: a thread owns one :class:`Engine` per run; callers poll.

A runner usually trains one run.  Given several configurations (e.g. the Compare page's A and
B, which may differ in the optimizer and so cannot share one batched Engine) it steps one
Engine per run in lockstep in the same thread, with one shared step counter.

The worker thread never calls back into a UI.  Callers read :meth:`Runner.snapshot`, a
consistent copy, as often as they like; it never waits for a training step.  Every state
change goes through the lock, so start / pause / resume / step / stop / reset may be called
from any thread.
"""

from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .config import RunConfig
from .engine import Engine, Record
from .fields import ConfigError
from .layout import Layout
from .results import RunData

__all__ = ["Runner", "Snapshot", "Status", "TRAINERS"]


class Status:
    """The states of a :class:`Runner`."""

    IDLE = "idle"  # built, not started
    RUNNING = "running"
    PAUSED = "paused"
    FINISHED = "finished"  # reached cfg.train.steps
    STOPPED = "stopped"  # stop() was called
    DIVERGED = "diverged"  # loss or parameters became NaN/inf
    ERROR = "error"  # the worker raised; see Snapshot.error
    DONE = (FINISHED, STOPPED, DIVERGED, ERROR)


@dataclass(frozen=True)
class Snapshot:
    """A consistent copy of a runner's state (safe to use from any thread)."""

    status: str
    message: str
    step: int
    total_steps: int
    steps_per_second: float
    losses: np.ndarray  # [steps] training loss of steps 1..step
    dz_norms: np.ndarray  # [steps] ‖ΔZ‖ of steps 1..step
    attended_changed: np.ndarray  # [steps] whether steps 1..step changed the attended distinct tokens
    records: tuple[Record, ...] = field(repr=False)
    config: RunConfig = field(repr=False)
    layout: Layout = field(repr=False)
    error: str | None = None  # traceback text when status is "error"

    @property
    def latest(self) -> Record:
        return self.records[-1]

    @property
    def data(self) -> RunData:
        """The snapshot as figure/table input."""
        return RunData.build(self.config, self.layout, self.records, self.losses, self.dz_norms,
                             self.attended_changed)


def _run_name(index: int) -> str:
    """Runs of a multi-run runner are named A, B, C, … in messages."""
    return chr(ord("A") + index) if index < 26 else f"#{index + 1}"


class Trainers:
    """The runners (and sweep jobs) training right now, process-wide.  Python runs one thread at a time, so with
    several trainers each pauses between steps long enough that together they use at most
    TRAINER_SHARE of the interpreter, and the pages' own threads (live refreshes, clicks) keep
    running on a busy classroom server.  One trainer alone never pauses."""

    TRAINER_SHARE = 0.75

    def __init__(self):
        self._lock = threading.Lock()
        self._runners: set = set()  # Runners and SweepJobs

    def add(self, runner) -> None:
        with self._lock:
            self._runners.add(runner)

    def discard(self, runner) -> None:
        with self._lock:
            self._runners.discard(runner)

    def count(self) -> int:
        with self._lock:
            return len(self._runners)

    def fair_pause(self, step_seconds: float) -> float:
        """Seconds to pause after a step that took ``step_seconds``: with n trainers each may be
        busy TRAINER_SHARE / n of the time."""
        n = self.count()
        return 0.0 if n < 2 else step_seconds * (n / self.TRAINER_SHARE - 1)


TRAINERS = Trainers()


class Runner:
    """Trains one run, or several in lockstep, in a background thread.

    ``config``: one RunConfig, or a sequence of them sharing ``steps`` (one Engine each, all
    stepped together; :meth:`snapshot` reads the first run, :meth:`snapshots` all of them).
    ``delay`` (seconds) is slept between steps to slow a run down for watching;
    ``max_records`` bounds the history kept (older records are thinned, see Engine).
    """

    def __init__(self, config: RunConfig | Sequence[RunConfig], delay: float = 0.0, max_records: int = 2000,
                 threads: int | None = 1):
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._threads = threads
        self.delay = delay
        self.max_records = max_records
        self._reset_state(config)

    # ------------------------------------------------------------------ state
    def _reset_state(self, config: RunConfig | Sequence[RunConfig]) -> None:
        configs = (config,) if isinstance(config, RunConfig) else tuple(config)
        if not configs:
            raise ConfigError("configs", configs, "at least one RunConfig")
        if len({c.train.steps for c in configs}) > 1:  # one shared step counter and finish line
            raise ConfigError("steps", [c.train.steps for c in configs], "the same number of steps for every run")
        # first: a failure leaves the old state
        self._engines = tuple(Engine(c, max_records=self.max_records) for c in configs)
        self.configs = configs
        self.config = configs[0]
        self._status = Status.IDLE
        self._message = "Ready."
        self._error: str | None = None
        self._pending_steps = 0  # single steps requested while paused
        self._stepping = False  # the worker is inside engine.step (outside the lock)
        self._rate = 0.0
        self._stop = False

    @property
    def status(self) -> str:
        with self._lock:
            return self._status

    @property
    def engine(self) -> Engine:
        """The (first run's) engine (read it only while the runner is paused or done)."""
        return self._engines[0]

    @property
    def engines(self) -> tuple[Engine, ...]:
        """One engine per run (read them only while the runner is paused or done)."""
        return self._engines

    def _step_count(self) -> int:  # called with the lock held
        """The shared step: every run has completed it (the worker may be inside a step of some)."""
        return min(e.step_count for e in self._engines)

    # ------------------------------------------------------------------ controls
    def start(self) -> None:
        """Start training (or resume a paused run)."""
        with self._lock:
            if self._status in Status.DONE:
                return
            self._status = Status.RUNNING
            self._pending_steps = 0  # single steps asked for while paused are moot once running
            self._message = "Training…"
            self._ensure_thread()
            self._wake.notify_all()

    resume = start

    def pause(self, timeout: float = 10.0) -> None:
        """Pause; returns once a step in flight has finished, so the step count then stays put."""
        with self._lock:
            if self._status in (Status.RUNNING, Status.IDLE):
                self._status = Status.PAUSED
                deadline = time.monotonic() + timeout
                while self._stepping and time.monotonic() < deadline:
                    self._wake.wait(max(0.0, deadline - time.monotonic()))
                self._message = f"Paused at step {self._step_count()}."

    def step_once(self, wait: float = 0.0) -> None:
        """Advance exactly one step (pauses a running run first); with ``wait`` > 0, block up to
        that many seconds until the step is done."""
        with self._lock:
            if self._status in Status.DONE:
                return
            self._status = Status.PAUSED
            self._pending_steps += 1
            target = self._step_count() + self._pending_steps
            self._ensure_thread()
            self._wake.notify_all()
            deadline = time.monotonic() + wait
            while (self._step_count() < target and self._status not in Status.DONE
                   and time.monotonic() < deadline):
                self._wake.wait(max(0.0, deadline - time.monotonic()))

    def stop(self, timeout: float = 10.0) -> None:
        """Stop training and join the worker thread."""
        with self._lock:
            self._stop = True
            if self._status not in Status.DONE:
                self._status = Status.STOPPED
                self._message = f"Stopped at step {self._step_count()}."
            self._wake.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        with self._lock:
            self._thread = None

    def reset(self, config: RunConfig | Sequence[RunConfig] | None = None) -> None:
        """Stop, then start over from step 0 (with new config(s) if given)."""
        self.stop()
        with self._lock:
            self._reset_state(config or self.configs)

    def set_learning_rates(self, eta_y: float | None = None, eta_z: float | None = None) -> None:
        """Change η_Y and/or η_Z of the live run(s) from the next step on (validated)."""
        with self._lock:
            changes = {k: v for k, v in (("eta_y", eta_y), ("eta_z", eta_z)) if v is not None}
            configs = tuple(c.replace(**changes) for c in self.configs)  # raises ConfigError on a bad value
            for engine, cfg in zip(self._engines, configs):
                engine.set_learning_rates(cfg.train.eta_y, cfg.train.eta_z)
            self.configs, self.config = configs, configs[0]

    def wait(self, timeout: float = 60.0) -> str:
        """Block until the run is done (finished, stopped, diverged or error) or the timeout."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._status not in Status.DONE and time.monotonic() < deadline:
                self._wake.wait(min(0.05, max(0.0, deadline - time.monotonic())))
            return self._status

    # ------------------------------------------------------------------ reading
    def snapshot(self) -> Snapshot:
        """The (first) run's state."""
        return self.snapshots()[0]

    def snapshots(self) -> tuple[Snapshot, ...]:
        """Every run's state, all at the same shared step."""
        with self._lock:
            step = self._step_count()  # the worker may be stepping: read everything up to this step
            return tuple(self._snapshot_of(e, cfg, step) for e, cfg in zip(self._engines, self.configs))

    def _snapshot_of(self, e: Engine, cfg: RunConfig, step: int) -> Snapshot:  # called with the lock held
        losses, dz, changed = e.per_step(step)
        return Snapshot(
            status=self._status,
            message=self._message,
            step=step,
            total_steps=cfg.train.steps,
            steps_per_second=self._rate,
            losses=losses[:, 0],
            dz_norms=dz[:, 0],
            attended_changed=changed[:, 0],
            records=tuple(r for r in tuple(e.records) if r.step <= step),
            config=cfg,
            layout=e.layout,
            error=self._error,
        )

    # ------------------------------------------------------------------ worker
    def _ensure_thread(self) -> None:  # called with the lock held
        if self._thread is None or not self._thread.is_alive():
            self._stop = False
            self._thread = threading.Thread(target=self._work, name="scansnap-runner", daemon=True)
            self._thread.start()

    def _work(self) -> None:
        """The worker owns the engine while it runs: it steps *outside* the lock, so snapshots and
        controls never wait for a step (the engine's per-step buffers are append-only, which
        makes reading them from another thread safe), and does the bookkeeping under it."""
        if self._threads:
            import torch

            torch.set_num_threads(self._threads)
        try:
            self._loop()
        finally:
            TRAINERS.discard(self)

    def _loop(self) -> None:
        window: list[tuple[float, int]] = []
        while True:
            with self._lock:
                while not self._stop and self._status != Status.RUNNING and self._pending_steps == 0:
                    TRAINERS.discard(self)
                    self._wake.wait()
                if self._stop or self._status in Status.DONE:
                    return
                engines = self._engines
                single = self._status != Status.RUNNING
                if single:
                    self._pending_steps -= 1
                else:
                    TRAINERS.add(self)
                self._stepping = True
            started = time.perf_counter()
            try:
                for engine in engines:  # lockstep: snapshots read the step every engine has completed
                    engine.step(1)
                with self._lock:
                    self._stepping = False
                    self._after_step(engines, single, window)
            except Exception as exc:  # surface every worker failure as a status, never lose it
                with self._lock:
                    self._stepping = False
                    self._status = Status.ERROR
                    self._message = (f"Training failed at step {engine.step_count + 1}{self._which(engine)}: "
                                     f"{type(exc).__name__}: {exc}")
                    self._error = traceback.format_exc()
                    self._wake.notify_all()
                return
            pause = 0.0 if single else max(self.delay, TRAINERS.fair_pause(time.perf_counter() - started))
            with self._lock:
                if self._status in Status.DONE or self._stop:
                    return
                if pause > 0:
                    self._wake.wait(pause)  # a watching pace or a fair share; stop()/pause() wake it at once

    def _which(self, engine: Engine) -> str:
        """' in run B' when several runs train together, else ''."""
        return f" in run {_run_name(self._engines.index(engine))}" if len(self._engines) > 1 else ""

    def _after_step(self, engines: tuple[Engine, ...], single: bool, window: list[tuple[float, int]]) -> None:
        """Rate, divergence and completion after a step (called with the lock held)."""
        now = time.perf_counter()
        step = self._step_count()
        window[:] = [(t, s) for t, s in window if now - t < 2.0] + [(now, step)]
        if len(window) > 1 and window[-1][0] > window[0][0]:
            self._rate = (window[-1][1] - window[0][1]) / (window[-1][0] - window[0][0])
        diverged = [e for e in engines if e.diverged_at[0] >= 0]
        if self._status in Status.DONE:  # stopped while the step ran
            pass
        elif diverged:  # one diverged run ends the pair: a comparison needs both sides
            engine = diverged[0]
            t = engine.config.train
            self._status = Status.DIVERGED
            self._message = (
                f"Training diverged at step {engine.diverged_at[0]}{self._which(engine)}: the loss or the attention "
                f"logits became NaN/inf. Lower eta_y ({t.eta_y:g}) or eta_z ({t.eta_z:g}), or the momentum "
                f"({t.momentum:g}), and Reset."
            )
        elif step >= self.config.train.steps:
            for engine in engines:
                engine.ensure_final_record()
            self._status = Status.FINISHED
            self._message = f"Finished {step} steps."
        elif single and self._pending_steps == 0:
            self._message = f"Paused at step {step}."
        self._wake.notify_all()
