"""What a study gives the background runner: an engine that follows the :class:`Trainable` protocol, and
a :class:`Plan` of what a run will cost before its engine is built (scansnap_core/lab/runner.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["Plan", "Trainable"]


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
