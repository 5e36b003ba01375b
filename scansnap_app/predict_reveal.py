"""Predict, then reveal, for a class (Live Lab): before Start the page asks questions the theory can answer, the
class locks its answers, the run trains, and when it finishes each answer is shown beside the theory's and the
run's with a paragraph of explanation (scansnap_core.scan_snap.predict).  A sidebar toggle and the URL
parameter ``predict=1``, so a teacher shares a link with the configuration and the mode; the answers live in
the browser session's state on the server (never written to disk) and go with it."""

from __future__ import annotations

import urllib.parse

import streamlit as st

from scansnap_core.lab.runner import Snapshot, Status
from scansnap_core.scan_snap.config import RunConfig
from scansnap_core.scan_snap.predict import questions_for, reveal
from scansnap_core.scan_snap.theory import assumption_note

from . import presentation
from .url_state import UrlFlag

MODE = UrlFlag("predict", "predict_mode", everywhere=False)
HOLD = "Lock the class's predictions first (above the charts)"
_STATE = "_predictions"


def toggle() -> bool:
    return MODE.toggle(st.sidebar, "Predict, then reveal", help="For a class: answer questions about the run before "
                       "it trains, then compare with what it did. A link to the page opens it in this mode "
                       "(predict=1).")


def _state(cfg: RunConfig, step: int) -> dict:
    """This session's answers, for the configuration they were given for: a new configuration before Start
    asks again (a live rate change during the run does not)."""
    ss = st.session_state
    state = ss.get(_STATE)
    if state is None or (step == 0 and state["token"] != cfg.to_token()):
        state = ss[_STATE] = {"token": cfg.to_token(), "answers": {}, "locked": False}
    return state


def hold(cfg: RunConfig, snap: Snapshot) -> str | None:
    """Why Start and Step wait (None: they do not, as once the run has begun)."""
    if not MODE.active() or snap.step > 0 or snap.status != Status.IDLE:
        return None
    return None if _state(cfg, snap.step)["locked"] else HOLD


def share_link(container, params: dict[str, str]) -> None:
    """The link a teacher hands out: this page, this configuration, the mode (and the presentation view if on)."""
    base = st.context.url or ""
    query = urllib.parse.urlencode({**params, **MODE.url_params(), **presentation.MODE.url_params()})
    container.caption("Link for the class (this configuration, in this mode):")
    container.code(f"{base.rstrip('/')}/?{query}", language=None, wrap_lines=True)


def panel(cfg: RunConfig, snap: Snapshot) -> None:
    """The questions before Start, the locked answers while it trains, the reveal once it has finished."""
    state = _state(cfg, snap.step)
    finished = snap.status in (Status.FINISHED, Status.DIVERGED) and snap.data is not None
    with st.container(border=True):
        if finished and state["locked"]:
            _reveal(snap, state["answers"])
        elif state["locked"]:
            st.markdown("**Your predictions are locked.** " + " · ".join(
                f"{q.text} **{state['answers'].get(q.key)}**" for q in questions_for(cfg)))
            st.caption("Press Start: the answers appear when the run finishes." if snap.step == 0 else
                       "The answers appear when the run finishes.")
            if snap.status == Status.IDLE:
                st.button("Change the predictions", key="predict_unlock", on_click=_set_locked, args=(False,))
        else:
            _ask(cfg, state, ready=snap.status == Status.IDLE)


def _ask(cfg: RunConfig, state: dict, ready: bool) -> None:
    """The questions; the answers lock only before the run starts (``ready``), so a reveal is always a test."""
    st.markdown("**Predict, then reveal.** Answer from the theory before the run trains; the run will tell.")
    answers = {}
    for q in questions_for(cfg):
        choice = st.radio(q.text, q.choices, index=None, horizontal=True, key=f"predict_{q.key}")
        answers[q.key] = choice
    missing = sum(v is None for v in answers.values())
    if not ready:
        st.caption("This run has already trained: press **Reset** to train it again, then lock the answers.")
    st.button("Lock the predictions", type="primary", icon=":material/lock:", disabled=missing > 0 or not ready,
              key="predict_lock", on_click=_lock, args=(tuple(answers),),
              help=f"{missing} question(s) still open" if missing else "Start unlocks once they are locked")


def _lock(keys: tuple[str, ...]) -> None:
    ss = st.session_state
    ss[_STATE]["answers"] = {key: ss.get(f"predict_{key}") for key in keys}
    ss[_STATE]["locked"] = True


def _set_locked(locked: bool) -> None:
    st.session_state[_STATE]["locked"] = locked


def _reveal(snap: Snapshot, answers: dict) -> None:
    reveals = reveal(snap.data, answers)
    right = sum(r.matched for r in reveals)
    st.markdown(f"**The reveal, at step {snap.data.latest.step}:** {right} of {len(reveals)} predictions match "
                "what the run did.")
    for r in reveals:
        mark = ":green[:material/check_circle:]" if r.matched else ":red[:material/cancel:]"
        st.markdown(f"{mark} **{r.question.text}**  \nPredicted: **{r.predicted}** · theory: **{r.theory}** · "
                    f"this run: **{r.measured}**")
        st.caption(r.explanation)
    note = assumption_note(snap.config)
    if note:
        st.caption(note)
    st.button("Predict again", key="predict_again", on_click=_set_locked, args=(False,),
              help="Unlock the answers; press Reset to train the run again")
