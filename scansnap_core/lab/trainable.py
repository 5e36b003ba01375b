"""What a study gives the background runner: an engine that follows the :class:`Trainable` protocol, and
a :class:`Plan` of what a run will cost before its engine is built (scansnap_core/lab/runner.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol

__all__ = ["FixedConfigEngine", "Plan", "StepView", "Trainable", "run_plan", "train_to_end"]


class Trainable(Protocol):
    """What the runner needs from a study's engine (one run).  ``step`` runs in the worker thread;
    ``view`` is called from other threads while a step may be running, so it must copy only what
    steps 1..``step`` have finished writing."""

    config: Any  # the run's configuration, with any live changes (see ``retune``)
    step_count: int  # optimizer steps done
    memory_bytes: int  # estimated peak memory the engine holds (counted against the server's budget)

    @property
    def total_steps(self) -> int: ...  # the finish line

    def step(self) -> None: ...  # one optimizer step

    def divergence(self) -> tuple[int, str] | None: ...  # (first bad step, what to do) once training broke

    def finish(self) -> None: ...  # called once when the last step is done (e.g. record the final state)

    def view(self, step: int) -> Any: ...  # the run at ``step`` as the study's figures read it

    def retune(self, config: Any) -> str: ...  # apply live-changeable settings, say what changed; ConfigError else


@dataclass(frozen=True)
class Plan:
    """What a run will cost, known from its configuration before anything is built (a study's ``plan``
    function validates the configuration and raises ConfigError for one it would refuse to build)."""

    memory_bytes: int  # the engine's estimated peak memory (Trainable.memory_bytes)
    total_steps: int


def run_plan(memory_bytes: int, total_steps: int, field: str, value: Any, advice: str) -> Plan:
    """The plan of a run, or ConfigError naming ``field`` when the run would need more than a run may hold
    (LIMITS.max_run_memory_mb); ``advice`` says what to make smaller."""
    from .fields import ConfigError
    from .limits import LIMITS

    if memory_bytes > LIMITS.max_run_memory_mb * 2**20:
        raise ConfigError(field, value, f"a run within {LIMITS.max_run_memory_mb:,} MB (this one needs about "
                                        f"{memory_bytes / 2**20:,.0f} MB: {advice})")
    return Plan(memory_bytes=memory_bytes, total_steps=total_steps)


class FixedConfigEngine:
    """What most engines share: the configuration, the step counter and the finish line (``config.steps``), a
    divergence recorded by :meth:`diverged`, nothing to do at the finish, and no live changes (every change of
    settings waits for Reset).  A subclass sets ``memory_bytes`` through its plan and writes ``step`` and
    ``view``."""

    def __init__(self, config: Any, plan: Plan):
        self.config = config
        self.step_count = 0
        self.memory_bytes = plan.memory_bytes
        self._total = plan.total_steps
        self._bad: tuple[int, str] | None = None

    @property
    def total_steps(self) -> int:
        return self._total

    def diverged(self, step: int, advice: str) -> None:
        if self._bad is None:
            self._bad = (step, advice)

    def divergence(self) -> tuple[int, str] | None:
        return self._bad

    def finish(self) -> None:
        pass

    def retune(self, config: Any) -> str:
        from .fields import ConfigError

        if config != self.config:
            raise ConfigError("config", "a change during a run", "changes on Reset only")
        return ""


def train_to_end(engine: Trainable, progress: Callable[[int, int], None] | None = None) -> Any:
    """Step ``engine`` to its finish line (or to the step where it diverged), finish it and return its view of the
    whole run (what a CLI run and a test want); ``progress(done, total)`` after every step."""
    while engine.step_count < engine.total_steps and engine.divergence() is None:
        engine.step()
        if progress is not None:
            progress(engine.step_count, engine.total_steps)
    engine.finish()
    return engine.view(engine.step_count)


class StepView:
    """What every study's view of a run shares: ``step``, the last step it shows; ``steps``, 0..step (its rows);
    ``records``, what the shared replay slider counts."""

    step: int

    @property
    def steps(self):
        import numpy as np

        return np.arange(self.step + 1)

    @property
    def records(self):
        return self.steps

