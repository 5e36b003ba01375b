"""One trainer per browser session, a server-wide cap, and a watchdog for closed tabs.

Streamlit runs one process with a script thread per session.  Each session gets a
:class:`Lab` (its runner plus pending settings) kept in a process-wide registry keyed by a
per-session id stored in ``st.session_state``.  The live fragment calls :meth:`Lab.touch`
on every refresh.  A watchdog thread stops (and releases) the trainers and sweeps whose page is gone:
its connection closed ``SCANSNAP_DISCONNECT_GRACE`` seconds ago (a closed or reloaded tab; a page that
reconnects sooner keeps its run), or it has been silent longer than ``SCANSNAP_IDLE_TTL`` seconds.
``SCANSNAP_MAX_TRAINING`` caps how many sessions may train at once.
"""

from __future__ import annotations

import atexit
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from scansnap_core.lab.fields import ConfigError
from scansnap_core.lab.jobs import SweepJob
from scansnap_core.lab.limits import LIMITS
from scansnap_core.lab.runner import Runner, Status

MAX_TRAINING = LIMITS.max_training
MAX_SWEEPS = LIMITS.max_sweeps
MAX_SERVER_MEMORY = LIMITS.max_server_memory_mb * 2**20
IDLE_TTL = LIMITS.idle_ttl
DISCONNECT_GRACE = LIMITS.disconnect_grace
_WATCH_EVERY = 5.0

#: seconds slept between steps for each speed setting (for watching a run unfold)
SPEEDS = {"full speed": 0.0, "fast": 0.01, "medium": 0.05, "slow": 0.2, "lecture": 0.5}
#: records kept per run (older ones are thinned evenly)
MAX_RECORDS = 1500


def current_page() -> str | None:
    """The Streamlit session (one tab's connection to the server) whose script is running, if any."""
    ctx = get_script_run_ctx(suppress_warning=True)
    return ctx.session_id if ctx is not None else None


def page_connected(page: str) -> bool:
    """Whether that tab is connected now: Streamlit drops a session from its active ones as soon as its
    connection closes (a closed or reloaded tab) and takes it back if the same tab reconnects."""
    return not Runtime.exists() or Runtime.instance().is_active_session(page)


@dataclass
class _Watched:
    """What the watchdog needs to know about a page's trainer."""

    page: str | None = field(default_factory=current_page, kw_only=True)  # None: not from a page (kept alive by touch)
    last_seen: float = field(default_factory=time.monotonic, kw_only=True)
    gone_since: float | None = field(default=None, kw_only=True)  # when the watchdog first found the page disconnected

    def touch(self) -> None:
        self.last_seen = time.monotonic()


@dataclass
class Lab(_Watched):
    """A browser session's training state."""

    runner: Runner
    pending: Any = None  # settings (a config, or a tuple of them for lockstep runs) changed mid-run; applied on Reset
    controls: Any = None  # what the page's controls asked for last (None: nothing yet, the run's own settings)

    def sync(self, wanted: Any) -> str | None:
        """Bring the run (one config) or the lockstep runs (a tuple, e.g. the Compare pair) in line with
        the controls, when they changed since the last call.  Before the first step, and once a run has
        ended, a change sets up a fresh run; during a run a single run's live-changeable settings (its
        engine's ``retune``, which records them in the run's config) apply at once, and other changes
        wait for Reset in ``pending``.  Returns a note for the user, or None."""
        runner = self.runner
        lockstep = isinstance(wanted, tuple)
        asked = self.controls if self.controls is not None else (runner.configs if lockstep else runner.config)
        if wanted == asked:
            return None
        self.controls, self.pending = wanted, None
        snap = runner.snapshot()
        if (snap.step == 0 and snap.status in (Status.IDLE, Status.PAUSED)) or snap.status in Status.DONE:
            runner.reset(wanted)  # nothing trained yet, or the run is over: a fresh run with these settings
            return None
        if wanted == (runner.configs if lockstep else runner.config):  # back to what trains: nothing waits
            return None
        if not lockstep:
            try:
                changed = runner.retune(wanted)
            except ConfigError:  # not a live change: it waits for Reset
                pass
            else:
                return f"Applied live: {changed}." if changed else None
        self.pending = wanted
        return None

    def reset(self) -> None:
        """Start over from step 0 with what the controls ask for (the pending settings, if any)."""
        self.runner.reset(self.controls)  # None: the same run(s), live changes included
        self.pending = None


@dataclass
class _Sweep(_Watched):
    """A sweep job and when its page last polled it."""

    job: SweepJob


class Registry:
    """Process-wide map of session id → :class:`Lab`, with the cap and the watchdog."""

    def __init__(self, max_training: int = MAX_TRAINING, idle_ttl: float = IDLE_TTL, max_sweeps: int = MAX_SWEEPS,
                 max_memory: int = MAX_SERVER_MEMORY, disconnect_grace: float = DISCONNECT_GRACE,
                 connected: Callable[[str], bool] = page_connected):
        self.max_training = max_training
        self.max_sweeps = max_sweeps
        self.max_memory = max_memory  # bytes: the server-wide budget of estimated training memory
        self.idle_ttl = idle_ttl
        self.disconnect_grace = disconnect_grace
        self._connected = connected
        self._labs: dict[str, Lab] = {}
        self._sweeps: dict[str, _Sweep] = {}  # sweep jobs count as training sessions too
        self._lock = threading.Lock()
        self._watchdog: threading.Thread | None = None

    def lab(self, session_id: str, new_runner: Callable[[], Runner]) -> Lab:
        """The lab registered as ``session_id``, made with ``new_runner()`` if there is none."""
        with self._lock:
            lab = self._labs.get(session_id)
            if lab is None:
                lab = self._labs[session_id] = Lab(new_runner())
            self._ensure_watchdog()
        lab.touch()
        return lab

    def get(self, session_id: str) -> Lab | None:
        """The session's lab if it has one (never creates it)."""
        with self._lock:
            return self._labs.get(session_id)

    def revive(self, session_id: str, lab: Lab) -> Lab:
        """The lab a button click should act on.  Under heavy load a tab that is still open can
        miss its heartbeats and have its lab reaped between drawing a button and the click; the
        click then brings that lab back (with a fresh runner if the watchdog stopped it) instead
        of acting on a stopped runner no page shows any more."""
        with self._lock:
            current = self._labs.get(session_id)
            if current is None:
                current = self._labs[session_id] = lab
                if lab.runner.status == Status.STOPPED:
                    lab.runner.reset()
            current.page, current.gone_since = current_page() or current.page, None
            self._ensure_watchdog()
        current.touch()
        return current

    def track_sweep(self, owner_id: str, job: SweepJob) -> None:
        """Count a sweep job under ``owner_id`` (e.g. ``<session id>-sweep``): against the training cap,
        and stopped by the watchdog when its page falls silent, like a Live Lab run."""
        with self._lock:
            old = self._sweeps.get(owner_id)
            self._sweeps[owner_id] = _Sweep(job)
            self._ensure_watchdog()
        if old is not None and old.job is not job:
            old.job.cancel(wait=0)

    def touch_sweep(self, owner_id: str) -> None:
        with self._lock:
            entry = self._sweeps.get(owner_id)
        if entry is not None:
            entry.last_seen = time.monotonic()

    def training_count(self, excluding: str | None = None) -> int:
        """How many sessions (other than ``excluding``) are training right now, sweeps included."""
        with self._lock:
            runs = sum(1 for sid, lab in self._labs.items() if sid != excluding and lab.runner.status == Status.RUNNING)
            return runs + sum(1 for sid, e in self._sweeps.items() if sid != excluding and e.job.running)

    def memory_in_use(self, excluding: str | None = None) -> int:
        """Estimated bytes held for training: every lab's built runs (started or not; large runs are built
        only on Start) and every running sweep."""
        with self._lock:
            labs = sum(lab.runner.memory_held for sid, lab in self._labs.items() if sid != excluding)
            return labs + sum(e.job.memory_bytes for sid, e in self._sweeps.items()
                              if sid != excluding and e.job.running)

    def refusal(self, session_id: str, memory_bytes: int = 0) -> str | None:
        """Why ``session_id`` may not start training ``memory_bytes`` now (None: it may)."""
        training = self.training_count(excluding=session_id)
        if training >= self.max_training:
            return (f"Server busy: {training} sessions are training right now (at most {self.max_training}, "
                    "SCANSNAP_MAX_TRAINING). Try again in a moment.")
        others = self.memory_in_use(excluding=session_id)
        if others + memory_bytes > self.max_memory:
            return (f"Server memory full: other sessions hold {others / 2**20:,.0f} MB of training memory, this run "
                    f"needs {memory_bytes / 2**20:,.0f} MB, and the server allows {self.max_memory / 2**20:,.0f} MB "
                    "(SCANSNAP_MAX_SERVER_MEMORY_MB). Try a smaller run, or again when a session has closed.")
        return None

    def may_start(self, session_id: str, memory_bytes: int = 0) -> bool:
        return self.refusal(session_id, memory_bytes) is None

    def sweeps_running(self, excluding: str | None = None) -> int:
        with self._lock:
            return sum(1 for sid, e in self._sweeps.items() if sid != excluding and e.job.running)


    def reap(self, now: float | None = None) -> list[str]:
        """Stop, release and forget the labs and sweeps whose page is gone: disconnected for longer than the
        grace period, or silent for longer than the TTL."""
        now = time.monotonic() if now is None else now
        with self._lock:
            stale = [sid for sid, lab in self._labs.items() if self._abandoned(lab, now)]
            labs = [self._labs.pop(sid) for sid in stale]
            stale_sweeps = [sid for sid, e in self._sweeps.items() if self._abandoned(e, now)]
            sweeps = [self._sweeps.pop(sid) for sid in stale_sweeps]
        for lab in labs:
            lab.runner.release()  # its page may hold it a while longer: drop the engines now
        for entry in sweeps:
            entry.job.cancel(wait=0)
        return stale + stale_sweeps

    def _abandoned(self, entry: _Watched, now: float) -> bool:  # called with the lock held
        if now - entry.last_seen > self.idle_ttl:
            return True
        if entry.page is None or self._connected(entry.page):
            entry.gone_since = None
            return False
        if entry.gone_since is None:
            entry.gone_since = now
        return now - entry.gone_since > self.disconnect_grace

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop every trainer and sweep, waiting up to ``timeout`` seconds in all: the server is exiting,
        and a worker still inside torch when the interpreter ends aborts the process ("terminate called
        without an active exception")."""
        with self._lock:
            runners = [lab.runner for lab in self._labs.values()]
            jobs = [entry.job for entry in self._sweeps.values()]
        for job in jobs:
            job.cancel(wait=0)
        for runner in runners:
            runner.stop(timeout=0)
        deadline = time.monotonic() + timeout
        for job in jobs:
            job.cancel(wait=max(0.0, deadline - time.monotonic()))
        for runner in runners:
            runner.stop(timeout=max(0.0, deadline - time.monotonic()))

    def active_sessions(self) -> int:
        with self._lock:
            return len(self._labs)

    def _ensure_watchdog(self) -> None:  # called with the lock held
        if self._watchdog is None or not self._watchdog.is_alive():
            self._watchdog = threading.Thread(target=self._watch, name="scansnap-watchdog", daemon=True)
            self._watchdog.start()

    def _watch(self) -> None:
        while True:
            time.sleep(_WATCH_EVERY)
            self.reap()


REGISTRY = Registry()
atexit.register(REGISTRY.shutdown)  # SIGTERM ends Streamlit normally, then the interpreter runs this


def new_session_id() -> str:
    return uuid.uuid4().hex
