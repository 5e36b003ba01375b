"""How several trainers share one Python process: the runners and sweep jobs training right now, and how
long each pauses between steps so that the pages' own threads keep running on a busy server."""

from __future__ import annotations

import threading

__all__ = ["TRAINERS", "Trainers"]


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
