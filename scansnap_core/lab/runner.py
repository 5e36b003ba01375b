"""Background training for every study, free of any UI: a thread owns one engine per run; callers poll.

An *engine* is whatever a study trains, seen through the small :class:`Trainable` protocol (Scan &
Snap's Y/Z ``Engine`` is one); the runner builds engines from configurations with the study's
``build`` function.  A runner usually trains one run.  Given several configurations (e.g. the
Compare page's A and B) it steps one engine per run in lockstep in the same thread, with one shared
step counter.

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
from typing import Any, Callable

from .fair_share import TRAINERS
from .fields import ConfigError
from .trainable import Plan, Trainable

__all__ = ["Runner", "Snapshot", "Status"]


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
    data: Any = field(repr=False)  # the run at ``step`` as the study's figures read it (Trainable.view)
    config: Any = field(repr=False)
    error: str | None = None  # traceback text when status is "error"


def _run_name(index: int) -> str:
    """Runs of a multi-run runner are named A, B, C, … in messages."""
    return chr(ord("A") + index) if index < 26 else f"#{index + 1}"




class Runner:
    """Trains one run, or several in lockstep, in a background thread.

    ``config``: one configuration, or a list or tuple of them with the same number of steps (one
    engine each, all stepped together; :meth:`snapshot` reads the first run, :meth:`snapshots` all).
    ``build`` makes a :class:`Trainable` from a configuration (it may raise ConfigError).
    ``delay`` (seconds) is slept between steps to slow a run down for watching.

    With a ``plan`` function (configuration -> :class:`Plan`), runs of which one is larger than
    ``build_now_below`` bytes are built only when they first train (Start or Step), by the worker: a
    page that is merely open holds no large engine, and :meth:`release` gives a built one back.  Until then snapshots carry
    ``data=None``.  Without ``plan`` every run is built at once.
    """

    def __init__(self, config: Any, build: Callable[[Any], Trainable], delay: float = 0.0, threads: int | None = 1,
                 plan: Callable[[Any], Plan] | None = None, build_now_below: int = 0):
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None  # the one worker; it clears this itself when it ends
        self._generation = 0  # bumped by reset and stop: a step that began before belongs to no run any more
        self._threads = threads
        self._build = build
        self._plan = plan
        self._build_now_below = build_now_below
        self.delay = delay
        self._reset_state(config)

    # ------------------------------------------------------------------ state
    def _reset_state(self, config: Any) -> None:
        configs = tuple(config) if isinstance(config, (list, tuple)) else (config,)
        if not configs:
            raise ConfigError("configs", configs, "at least one configuration")
        # plan or build first: a refused configuration leaves the old state
        plans = tuple(self._plan(c) for c in configs) if self._plan else None
        engines = None
        if plans is None or max(p.memory_bytes for p in plans) < self._build_now_below:
            engines = tuple(self._build(c) for c in configs)
        steps = [p.total_steps for p in plans] if plans else [e.total_steps for e in engines]
        if len(set(steps)) > 1:  # one shared step counter and finish line
            raise ConfigError("steps", steps, "the same number of steps for every run")
        self._configs, self._plans, self._engines = configs, plans, engines
        self._status = Status.IDLE
        self._message = "Ready."
        self._error: str | None = None
        self._pending_steps = 0  # single steps requested while paused
        self._stepping = False  # the worker is inside engine.step or building the engines (outside the lock)
        self._rate = 0.0
        self._stop = False
        self._pause_at: dict[int, str] = getattr(self, "_pause_at", {})  # kept across resets
        self._pause_when: Callable[[Trainable], str | None] | None = getattr(self, "_pause_when", None)
        self._paused_when = False  # once per run

    @property
    def status(self) -> str:
        with self._lock:
            return self._status

    @property
    def built(self) -> bool:
        """Whether the engines exist (see ``plan`` in the class docstring)."""
        return self._engines is not None

    @property
    def busy(self) -> bool:
        """Training, or not yet back from a step or build that a pause, Step or Start began."""
        with self._lock:
            return self._status == Status.RUNNING or self._stepping

    @property
    def configs(self) -> tuple:
        """Every run's configuration, with the live changes made so far."""
        engines = self._engines
        return self._configs if engines is None else tuple(e.config for e in engines)

    @property
    def config(self):
        """The (first) run's configuration."""
        return self.configs[0]

    @property
    def memory_bytes(self) -> int:
        """Estimated peak memory of every run's engine, built or not (what training needs)."""
        engines = self._engines
        if engines is None:
            return sum(p.memory_bytes for p in self._plans)
        return sum(e.memory_bytes for e in engines)

    @property
    def memory_held(self) -> int:
        """Estimated memory of the engines built now (0 before a deferred build and after release)."""
        engines = self._engines
        return 0 if engines is None else sum(e.memory_bytes for e in engines)

    @property
    def engine(self) -> Trainable:
        """The (first run's) engine (read it only while the runner is paused or done)."""
        return self.engines[0]

    @property
    def engines(self) -> tuple[Trainable, ...]:
        """One engine per run (read them only while the runner is paused or done)."""
        if self._engines is None:
            raise RuntimeError("the runs are not built yet: they are built when they first train")
        return self._engines

    def _step_count(self) -> int:  # called with the lock held
        """The shared step: every run has completed it (the worker may be inside a step of some)."""
        return 0 if self._engines is None else min(e.step_count for e in self._engines)

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

    def pause(self, timeout: float = 10.0, why: str = "") -> None:
        """Pause; waits up to ``timeout`` seconds for a step in flight, so the step count then stays put.
        With a shorter wait the run is paused at once and says it is finishing that step (a page's
        button must not hang for the length of a long step).  ``why`` goes into the message."""
        with self._lock:
            if self._status in (Status.RUNNING, Status.IDLE):
                self._status = Status.PAUSED
                deadline = time.monotonic() + timeout
                while self._stepping and time.monotonic() < deadline:
                    self._wake.wait(max(0.0, deadline - time.monotonic()))
                step = self._step_count()
                if not self._stepping:
                    self._message = (f"Paused at step {step}: {why}. Press Resume to go on." if why
                                     else f"Paused at step {step}.")
                elif self._engines is None:
                    self._message = "Pausing: building the run first…"
                else:
                    self._message = f"Pausing: finishing step {step + 1}…"

    def pause_at(self, steps: dict[int, str], when: Callable[[Trainable], str | None] | None = None) -> None:
        """Pause a running run by itself after each of these steps (e.g. a study's predicted phase times, for a
        lecture), saying why: {step: reason}; and once per run after the first step at which ``when(engine)``
        (the first run's engine, called under the runner's lock after every step: keep it cheap) says why
        (e.g. an event the study detects).  An empty dict and no ``when`` turn it off."""
        with self._lock:
            self._pause_at, self._pause_when = dict(steps), when

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
        """Stop training; waits up to ``timeout`` seconds for the worker to end.  A worker inside a long
        step ends after it (the step's result is dropped); no second worker starts meanwhile."""
        with self._lock:
            self._stop = True
            self._generation += 1
            if self._status not in Status.DONE:
                self._status = Status.STOPPED
                self._message = f"Stopped at step {self._step_count()}."
            self._wake.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def reset(self, config: Any = None) -> None:
        """Start over from step 0 (with new config(s) if given), at once: a step in flight is dropped
        when it ends, and the same worker then serves the new run(s)."""
        with self._lock:
            self._reset_state(config or self.configs)  # raises ConfigError before anything changes
            self._generation += 1
            self._wake.notify_all()

    def retune(self, config: Any) -> str:
        """Apply the live-changeable settings of ``config`` (one run) from the next step on; returns
        what changed.  ConfigError when ``config`` differs in anything else (that waits for Reset)."""
        with self._lock:
            if len(self._configs) != 1:
                raise ConfigError("config", "a change to one of several lockstep runs", "changes on Reset only")
            if self._engines is None:
                raise ConfigError("config", "a change while the run is being built", "changes on Reset only")
            return self._engines[0].retune(config)

    def release(self) -> None:
        """Stop, and give back the engines' memory (a closed page's run): snapshots then carry no data, and
        :meth:`reset` builds the run again."""
        self.stop(timeout=0)
        with self._lock:
            self._configs = self.configs
            if self._plans is None:
                self._plans = tuple(Plan(e.memory_bytes, e.total_steps) for e in self._engines)
            self._engines = None  # a worker still inside a step drops its own reference when the step ends
            self._message = f"{self._message} Its memory was released."

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
            if self._engines is None:
                return tuple(Snapshot(status=self._status, message=self._message, step=0, total_steps=p.total_steps,
                                      steps_per_second=0.0, data=None, config=c, error=self._error)
                             for c, p in zip(self._configs, self._plans))
            return tuple(Snapshot(status=self._status, message=self._message, step=step, total_steps=e.total_steps,
                                  steps_per_second=self._rate, data=e.view(step), config=e.config, error=self._error)
                         for e in self._engines)

    # ------------------------------------------------------------------ worker
    def _ensure_thread(self) -> None:  # called with the lock held
        """Start the worker unless there is one: at most one worker, ever (one still finishing a step that
        reset or stop dropped takes the new work once that step ends)."""
        self._stop = False
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="scansnap-runner", daemon=True)
            self._thread.start()

    def _retire(self) -> None:  # called with the lock held, by the worker, as it ends
        self._thread = None
        self._wake.notify_all()

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
            with self._lock:  # however the loop ended, the runner must not wait for a worker that is gone
                if self._thread is threading.current_thread():
                    self._retire()

    def _loop(self) -> None:
        """Every return happens under the lock together with _retire, so a control that finds a worker
        registered can count on it to pick up new work."""
        window: list[tuple[float, int]] = []
        while True:
            with self._lock:
                while not self._stop and self._status != Status.RUNNING and self._pending_steps == 0:
                    TRAINERS.discard(self)
                    self._wake.wait()
                if self._stop or self._status in Status.DONE:
                    return self._retire()
                if self._engines is None:
                    if not self._build_engines():
                        return self._retire()
                    continue
                engines, generation = self._engines, self._generation
                single = self._status != Status.RUNNING
                if single:
                    self._pending_steps -= 1
                else:
                    TRAINERS.add(self)
                self._stepping = True
            started = time.perf_counter()
            failure = None
            try:
                for engine in engines:  # lockstep: snapshots read the step every engine has completed
                    engine.step()
            except Exception as exc:  # surface every worker failure as a status, never lose it
                failure = exc
            with self._lock:
                if generation != self._generation:  # reset or stopped during the step: its result is moot
                    self._stepping = False  # (this worker is the only one that steps)
                    window.clear()
                    continue
                self._stepping = False
                failed_at = engine.step_count + 1  # inside that step
                if failure is None:
                    try:  # the engine's divergence() and finish() are study code too
                        self._after_step(engines, single, window)
                    except Exception as exc:
                        failure, failed_at = exc, engine.step_count  # after the step it finished
                if failure is not None:
                    self._status = Status.ERROR
                    self._message = (f"Training failed at step {failed_at}{self._which(engine)}: "
                                     f"{type(failure).__name__}: {failure}")
                    self._error = "".join(traceback.format_exception(failure))
                    return self._retire()
            pause = 0.0 if single else max(self.delay, TRAINERS.fair_pause(time.perf_counter() - started))
            with self._lock:
                if self._status in Status.DONE or self._stop:
                    return self._retire()
                if pause > 0:
                    self._wake.wait(pause)  # a watching pace or a fair share; stop()/pause() wake it at once

    def _build_engines(self) -> bool:  # called with the lock held, by the worker
        """Build runs whose build was deferred to their first step, outside the lock (it may take seconds);
        a reset or stop meanwhile makes the result moot.  False when the build failed (a run error)."""
        configs, generation, message = self._configs, self._generation, self._message
        self._stepping = True
        mb = sum(p.memory_bytes for p in self._plans) / 2**20
        self._message = f"Building the run{'s' if len(configs) > 1 else ''} (about {mb:,.0f} MB)…"
        self._lock.release()
        engines, failure = None, None
        try:
            engines = tuple(self._build(c) for c in configs)
        except Exception as exc:
            failure = exc
        finally:
            self._lock.acquire()
        self._stepping = False
        self._wake.notify_all()
        if generation != self._generation:
            return True
        if failure is not None:
            self._status = Status.ERROR
            self._message = f"Building the run failed: {type(failure).__name__}: {failure}"
            self._error = "".join(traceback.format_exception(failure))
            return False
        self._engines = engines
        if self._status == Status.PAUSED and self._pending_steps == 0:  # paused while it was built
            self._message = "Paused at step 0."
        elif self._message.startswith("Building"):
            self._message = message
        return True

    def _auto_pause(self, step: int, engine: Trainable) -> str | None:  # called with the lock held
        """Why a running run pauses by itself after ``step`` (see :meth:`pause_at`), or None."""
        if step in self._pause_at:
            return self._pause_at[step]
        if self._pause_when is not None and not self._paused_when:
            why = self._pause_when(engine)
            self._paused_when = why is not None
            return why
        return None

    def _which(self, engine: Trainable) -> str:
        """' in run B' when several runs train together, else ''."""
        return f" in run {_run_name(self._engines.index(engine))}" if len(self._engines) > 1 else ""

    def _after_step(self, engines: tuple[Trainable, ...], single: bool, window: list[tuple[float, int]]) -> None:
        """Rate, divergence and completion after a step (called with the lock held)."""
        now = time.perf_counter()
        step = self._step_count()
        window[:] = [(t, s) for t, s in window if now - t < 2.0] + [(now, step)]
        if len(window) > 1 and window[-1][0] > window[0][0]:
            self._rate = (window[-1][1] - window[0][1]) / (window[-1][0] - window[0][0])
        diverged = [(e, d) for e in engines if (d := e.divergence()) is not None]
        if self._status in Status.DONE:  # stopped while the step ran
            pass
        elif diverged:  # one diverged run ends the pair: a comparison needs both sides
            engine, (bad_step, advice) = diverged[0]
            self._status = Status.DIVERGED
            self._message = f"Training diverged at step {bad_step}{self._which(engine)}: {advice}"
        elif step >= engines[0].total_steps:
            for engine in engines:
                engine.finish()
            self._status = Status.FINISHED
            self._message = f"Finished {step} steps."
        elif self._status == Status.RUNNING and (why := self._auto_pause(step, engines[0])):
            self._status = Status.PAUSED
            self._message = f"Paused at step {step}: {why}. Press Resume to go on."
        elif self._status == Status.PAUSED and self._pending_steps == 0:  # a single step, or a pause mid-step
            self._message = f"Paused at step {step}."
        self._wake.notify_all()
