"""Run controls: Start/Pause, Step and Reset (outside the live fragments), the speed control, the
"server busy" message and the heartbeat that keeps a session's trainer alive."""

from __future__ import annotations

import streamlit as st

from scansnap_core.lab.fields import ConfigError
from scansnap_core.lab.runner import Status

from . import sessions
from .plain import plain
from .sessions import IDLE_TTL, SPEEDS, Lab
from .url_state import KEEP


def run_controls(lab: Lab, lab_id: str, prefix: str = "", hold: str | None = None):
    """Start/Pause, Step and Reset, large and obvious (outside the live fragments), for the lab
    registered as ``lab_id``; Reset starts over with what the controls ask for (:meth:`Lab.reset`).  Widget
    keys start with ``prefix``; ``hold``: why Start and Step wait (they are disabled with it as their help).
    Returns a fourth column for the page's own control."""
    snap = lab.runner.snapshot()
    running = snap.status == Status.RUNNING
    done = snap.status in Status.DONE
    c1, c2, c3, c4 = st.columns([1.1, 1, 1, 2.7])
    # Streamlit may deliver one click twice (once to a live fragment's rerun, again to the full
    # rerun). The keys change after every action, so a late copy finds its button gone.
    gen = st.session_state.setdefault(prefix + _GENERATION, 0)
    c1.button("Pause" if running else ("Finished" if done else "Resume" if snap.step else "Start"), type="primary",
              icon=":material/pause:" if running else ":material/play_arrow:",
              width="stretch", disabled=done or bool(hold), on_click=_start_or_pause, key=f"{prefix}start-{gen}",
              args=(lab, lab_id, prefix, "pause" if running else "start"), help=hold)
    c2.button("Step", icon=":material/skip_next:", width="stretch", disabled=done or bool(hold), on_click=_step,
              args=(lab, lab_id, prefix), key=f"{prefix}step-{gen}", help=hold)
    c3.button("Reset", icon=":material/restart_alt:", width="stretch", on_click=_reset, args=(lab, lab_id, prefix),
              key=f"{prefix}reset-{gen}")
    return c4


def speed_control(container, lab: Lab, stops: dict[int, str] | None = None, when=None, also: str = "") -> None:
    """The pace (``lecture``: two steps a second, to narrate) and, with ``stops`` ({step: what it marks}),
    an Auto-pause toggle that pauses the run by itself at those steps and once ``when(engine)`` gives a
    reason (Runner.pause_at; ``also`` says in words when that is)."""
    speed, pause = container.columns([1.25, 1]) if stops is not None else (container, None)
    speed.select_slider("Speed", options=list(SPEEDS), **KEEP, key="speed", on_change=_speed, args=(lab,),
                        help="Slow the run down to watch scanning and snapping unfold; 'lecture' takes two "
                             "steps a second")
    lab.runner.delay = SPEEDS[st.session_state.get("speed", "full speed")]
    if pause is not None:
        at = [f"step {s} ({w})" for s, w in sorted(stops.items())] + ([also] if also else [])
        on = pause.toggle("Auto-pause", **KEEP, key="auto_pause",
                          help="Pause by itself, to narrate: " + "; ".join(at) if at else "Nothing to pause at")
        if on:
            lab.runner.pause_at(stops, when)
        else:
            lab.runner.pause_at({})


def busy_warning() -> None:
    """Shown after a Start or Step that a server-wide cap (sessions training, memory) refused."""
    reason = st.session_state.pop(_BUSY, None)
    if reason:
        st.warning(reason)


_GENERATION = "_run_controls_generation"
_BUSY = "_run_controls_busy"


def _acted(prefix: str) -> None:
    st.session_state[prefix + _GENERATION] = st.session_state.get(prefix + _GENERATION, 0) + 1


def _may_start(lab: Lab, lab_id: str) -> bool:
    reason = sessions.REGISTRY.refusal(lab_id, lab.runner.memory_bytes)
    if reason is None:
        return True
    st.session_state[_BUSY] = reason
    return False


def _start_or_pause(lab: Lab, lab_id: str, prefix: str, action: str) -> None:
    """Do what the button said when it was drawn (not a toggle: a late or repeated click can
    never flip the run the wrong way)."""
    _acted(prefix)
    lab = sessions.REGISTRY.revive(lab_id, lab)
    if action == "pause":
        lab.runner.pause(timeout=0.5)  # a long step finishes in the background ("Pausing: finishing step …")
    elif _may_start(lab, lab_id):
        lab.runner.start()


def _step(lab: Lab, lab_id: str, prefix: str) -> None:
    _acted(prefix)
    lab = sessions.REGISTRY.revive(lab_id, lab)
    if _may_start(lab, lab_id):
        lab.runner.step_once(wait=2.0)


def _reset(lab: Lab, lab_id: str, prefix: str) -> None:
    _acted(prefix)
    try:
        sessions.REGISTRY.revive(lab_id, lab).reset()
    except ConfigError as err:  # the settings cannot be built any more (e.g. an uploaded text the server let go of)
        st.session_state[_BUSY] = f"Reset could not build the run: {plain(err)}"


def _speed(lab: Lab) -> None:
    lab.runner.delay = SPEEDS[st.session_state["speed"]]


@st.fragment(run_every=max(5.0, IDLE_TTL / 4))
def heartbeat(lab: Lab) -> None:
    """Keeps a session's trainer alive while its tab is open, even when nothing refreshes."""
    lab.touch()
