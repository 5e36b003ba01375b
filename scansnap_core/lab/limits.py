"""Server-side resource caps, one place for all of them.

Each cap has a default suited to a shared 2-core classroom server and can be changed with an
environment variable (read once, at import).  The core enforces them (config validation, the
engine, the sweep); the pages explain them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from typing import Mapping

__all__ = ["Limits", "LIMITS"]


@dataclass(frozen=True)
class Limits:
    #: largest vocabulary M of a run (Y is up to M×M floats, §2)
    max_vocab: int = 20_000
    #: most optimizer steps of a run
    max_steps: int = 1_000_000
    #: largest estimated training memory of one run, in MB (engine.estimate_memory_bytes)
    max_run_memory_mb: int = 2048
    #: largest estimated memory of everything the server holds for training at once (every session's
    #: built runs, and the running sweeps), in MB
    max_server_memory_mb: int = 8192
    #: largest estimated memory of a run built as soon as its page opens, in MB (a larger one is built when
    #: Start or Step is pressed, so open tabs hold no large runs)
    build_on_open_mb: int = 128
    #: most runs in one sweep
    max_sweep_runs: int = 10_000
    #: most browser sessions training at once, server-wide (sweeps included)
    max_training: int = 4
    #: most sweeps running at once, server-wide (each also counts as a training session)
    max_sweeps: int = 1
    #: seconds of silence after which a closed tab's trainer is stopped
    idle_ttl: float = 120.0
    #: seconds after its page's connection closed (tab closed or reloaded) that a trainer is stopped
    #: (a page that reconnects sooner, e.g. after a network blip, keeps its run)
    disconnect_grace: float = 15.0

    ENV = {"max_vocab": "SCANSNAP_MAX_VOCAB", "max_steps": "SCANSNAP_MAX_STEPS",
           "max_run_memory_mb": "SCANSNAP_MAX_RUN_MEMORY_MB",
           "max_server_memory_mb": "SCANSNAP_MAX_SERVER_MEMORY_MB",
           "build_on_open_mb": "SCANSNAP_BUILD_ON_OPEN_MB", "max_sweep_runs": "SCANSNAP_MAX_SWEEP_RUNS",
           "max_training": "SCANSNAP_MAX_TRAINING", "max_sweeps": "SCANSNAP_MAX_SWEEPS",
           "idle_ttl": "SCANSNAP_IDLE_TTL", "disconnect_grace": "SCANSNAP_DISCONNECT_GRACE"}

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "Limits":
        """Defaults overridden by the SCANSNAP_* variables; a bad value stops the server at start
        with a message naming the variable (better than a silently ignored cap)."""
        values = {}
        for f in fields(cls):
            name = cls.ENV[f.name]
            if name not in env:
                continue
            kind, allowed = (float, "a positive number") if f.type in (float, "float") else (int, "a positive integer")
            try:
                values[f.name] = kind(env[name])
            except ValueError:
                raise ValueError(f"{name} = {env[name]!r} is invalid: allowed {allowed}") from None
            if not values[f.name] > 0 or values[f.name] == float("inf"):
                raise ValueError(f"{name} = {env[name]!r} is invalid: allowed {allowed}")
        return cls(**values)

    def describe(self) -> str:
        """One line for the pages."""
        return (f"M ≤ {self.max_vocab:,}, ≤ {self.max_steps:,} steps and ≤ {self.max_run_memory_mb:,} MB estimated "
                f"memory per run, ≤ {self.max_sweep_runs:,} runs per sweep")


LIMITS = Limits.from_env()
