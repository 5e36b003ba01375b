"""Live-refresh pacing: the refresh intervals follow what refreshes actually cost on this server.

Every live fragment run (KPIs, charts) is timed in wall-clock seconds, which include the waits
for Python's global interpreter lock that all sessions, trainers and the web server's event loop
share.  Each kind of refresh may keep the interpreter busy for only a set share of the time, all
sessions together: with n sessions live and one run costing c seconds, a session refreshes every
max(base, n * c / share) seconds.  On a crowded or slow server the refreshes thin out instead of
queueing up faster than they can run and starving the event loop that delivers them.

Streamlit fixes a fragment's interval when the page script declares it, so a running live fragment
calls :func:`keep_pace`, which re-times the fragment's automatic reruns in the browser when the
interval it runs with is off by more than ``DRIFT`` either way (not with a full rerun, which can
crash the page under load).  The history: docs/ENGINEERING.md, "Paced live refreshes".
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import streamlit as st

#: weight of the newest run in the running mean of a run's cost
SMOOTHING = 0.2
#: factor by which the interval a fragment runs with may differ from the current one
DRIFT = 1.5


@dataclass
class Pacer:
    """One kind of live refresh: its fastest interval and its share of the interpreter."""

    name: str
    base: float  # seconds: the interval on an idle server
    share: float  # fraction of wall-clock time all sessions' runs of this kind may take together
    cost: float = 0.0  # running mean of one run's wall-clock seconds (0 until the first run)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @contextmanager
    def timed(self):
        """Time the run inside the ``with`` block (also when it ends by ``st.rerun``)."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.record(time.perf_counter() - start)

    def record(self, seconds: float) -> None:
        with self._lock:
            self.cost = seconds if self.cost == 0 else (1 - SMOOTHING) * self.cost + SMOOTHING * seconds

    def interval(self, live_sessions: int) -> float:
        """Seconds between two refreshes of one session while ``live_sessions`` sessions refresh."""
        return max(self.base, max(1, live_sessions) * self.cost / self.share)

    def retimed(self, current: float, live_sessions: int) -> float | None:
        """The new interval for a fragment that runs every ``current`` seconds, or None while
        ``current`` is close enough to what the server can afford now."""
        wanted = self.interval(live_sessions)
        return wanted if wanted > DRIFT * current or wanted * DRIFT < current else None


#: progress bar and KPIs: cheap, refreshed up to 10 times a second
KPI = Pacer("kpi", base=0.1, share=0.2)
#: charts: figures and their JSON are the costly part, refreshed up to twice a second (the browser
#: draws them in place, and fewer of them when drawing is slow: scansnap_app/live_chart.py)
CHART = Pacer("chart", base=0.5, share=0.3)


def declared(pacer: Pacer, live_sessions: int) -> float:
    """The interval for a live fragment the page script declares now (noted for :func:`keep_pace`)."""
    seconds = pacer.interval(live_sessions)
    st.session_state[_state_key(pacer)] = seconds
    return seconds


def keep_pace(pacer: Pacer, live_sessions: int) -> None:
    """Called by a running live fragment of kind ``pacer``: re-time it if its interval drifted."""
    current = st.session_state.get(_state_key(pacer))
    seconds = None if current is None else pacer.retimed(current, live_sessions)
    if seconds is not None and retime_this_fragment(seconds):
        st.session_state[_state_key(pacer)] = seconds


def _state_key(pacer: Pacer) -> str:
    return f"_pacing_{pacer.name}_every"


def retime_this_fragment(seconds: float) -> bool:
    """Make the browser rerun the fragment that is running now every ``seconds`` seconds.

    Streamlit 1.67 has no public call for this; this sends the same message a fragment's
    declaration sends (``st.fragment(run_every=...)``), and the browser replaces the fragment's
    timer.  Returns False, changing nothing, outside a fragment or if Streamlit's internals moved
    (tests/test_pacing.py checks them against the pinned version)."""
    try:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
        from streamlit.runtime.scriptrunner_utils.script_run_context import ThreadState, get_script_run_ctx

        ctx, fragment_id = get_script_run_ctx(suppress_warning=True), ThreadState.get().fragment_id
    except (ImportError, AttributeError):
        return False
    if ctx is None or not fragment_id:
        return False
    msg = ForwardMsg()
    msg.auto_rerun.interval = seconds
    msg.auto_rerun.fragment_id = fragment_id
    ctx.enqueue(msg)
    return True
