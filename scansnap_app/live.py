"""The live parts every run page shares: refresh intervals and pacing, the live status fragment's
body (keep-alive, progress, status line) and the replay slider."""

from __future__ import annotations

from contextlib import contextmanager

import streamlit as st

from scansnap_core.lab.limits import LIMITS
from scansnap_core.lab.runner import Snapshot, Status
from scansnap_core.scan_snap.results import RunData

from . import pacing, sessions
from .plain import plain
from .sessions import Lab


def live_intervals() -> tuple[float, float]:
    """(KPI, chart) refresh intervals in seconds for the live fragments a page declares now: they
    follow the measured cost of refreshes and the number of sessions training
    (scansnap_app/pacing.py), so a crowded server stays responsive."""
    live = sessions.REGISTRY.training_count()
    return pacing.declared(pacing.KPI, live), pacing.declared(pacing.CHART, live)


@contextmanager
def paced(pacer: pacing.Pacer, live: bool):
    """Wraps the body of a fragment of kind ``pacer`` and times the run; while ``live`` (declared
    with an interval), keeps the interval in step with the server's load."""
    if live:
        pacing.keep_pace(pacer, sessions.REGISTRY.training_count())
    with pacer.timed():
        yield


@contextmanager
def live_status(lab: Lab, running: bool, what: str = "step"):
    """The body of a live status fragment, the same on every run page: keeps the lab alive, leaves
    live mode once the run stops (a full rerun shows replay and export), then, timed as one KPI
    refresh, draws the progress bar and the run's status line and yields the snapshot for the page's
    own KPIs.  ``what`` names the step counter ("shared step" for a pair)."""
    lab.touch()
    snap = lab.runner.snapshot()
    if running and not lab.runner.busy:
        st.rerun()  # the run just paused or ended: leave live mode
    with paced(pacing.KPI, running):
        # the runner's own words ('Building…', 'Finished 100 steps.'); a pause or a failure gets a box of its own
        state = snap.status if snap.status in (Status.PAUSED, Status.ERROR, Status.DIVERGED) else snap.message
        st.progress(min(1.0, snap.step / snap.total_steps),
                    text=f"{what} {snap.step:,} of {snap.total_steps:,} · {snap.steps_per_second:,.0f} steps/s · "
                         f"{state}")
        status_line(snap)
        yield snap


def not_built(lab: Lab) -> bool:
    """Says so when the run is not built (a large run is built on Start or Step; the watchdog releases the
    run of a page that fell silent); True then, and the page draws no views of it."""
    if lab.runner.built:
        return False
    mb = lab.runner.memory_bytes / 2**20
    if lab.runner.busy:
        st.info(f"Building the run (about {mb:,.0f} MB estimated)…", icon=":material/hourglass_top:")
    elif lab.runner.status == Status.STOPPED:
        st.info("This page was silent for a while, so its run was stopped and its memory released. "
                "Press Reset to start over.", icon=":material/info:")
    else:
        st.info(f"This run needs about {mb:,.0f} MB, so it is built when you press Start or Step "
                f"(open pages hold no runs larger than {LIMITS.build_on_open_mb:,} MB).", icon=":material/info:")
    return True


def status_line(snap: Snapshot) -> None:
    if snap.status == Status.PAUSED:  # why, and what comes next ('Pausing: finishing step 7…', an auto-pause)
        st.info(snap.message, icon=":material/pause_circle:")
    elif snap.status in (Status.ERROR, Status.DIVERGED):
        st.error(plain(snap.message) + " Press Reset to start over.")


def replay_step(data: RunData, running: bool, key: str,
                label: str = "Replay: step shown in every view") -> int | None:
    """Once a run is paused or finished, a slider over its recorded steps; the step picked (None while
    live or before anything was recorded)."""
    if running or len(data.records) < 2:
        return None
    steps = [int(s) for s in data.steps]
    ss, latest = st.session_state, key + "_latest"
    if ss.get(key) not in steps or ss.get(key) == ss.get(latest):  # left at the newest step: follow the run
        ss[key] = steps[-1]
    ss[latest] = steps[-1]
    return st.select_slider(label, options=steps, key=key)
