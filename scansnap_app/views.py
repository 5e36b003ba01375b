"""The Live Lab's main area: run controls, KPIs, live views, replay and export."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import replace

import numpy as np
import streamlit as st

from scansnap_core import figures
from scansnap_core.config import RunConfig
from scansnap_core.events import SNAP_FRACTION, SPEED_WINDOW
from scansnap_core.results import Composition, RunData, cli_command, composition_at_snap, event_notes
from scansnap_core.runner import Snapshot, Status

from . import pacing
from .live_chart import live_chart
from .sessions import IDLE_TTL, REGISTRY, SPEEDS, Lab


def live_intervals() -> tuple[float, float]:
    """(KPI, chart) refresh intervals in seconds for the live fragments a page declares now: they
    follow the measured cost of refreshes and the number of sessions training
    (scansnap_app/pacing.py), so a crowded server stays responsive."""
    live = REGISTRY.training_count()
    return pacing.declared(pacing.KPI, live), pacing.declared(pacing.CHART, live)


@contextmanager
def paced(pacer: pacing.Pacer, live: bool):
    """Wraps the body of a fragment of kind ``pacer`` and times the run; while ``live`` (declared
    with an interval), keeps the interval in step with the server's load."""
    if live:
        pacing.keep_pace(pacer, REGISTRY.training_count())
    with pacer.timed():
        yield


#: rows kept in live heatmaps and line charts (records are thinned evenly beyond this)
LIVE_RECORDS = 240


def run_controls(lab: Lab, lab_id: str, prefix: str = ""):
    """Start/Pause, Step and Reset, large and obvious (outside the live fragments), for the lab
    registered as ``lab_id``; Reset applies ``lab.pending`` (or restarts the same run).  Widget
    keys start with ``prefix``.  Returns a fourth column for the page's own control."""
    snap = lab.runner.snapshot()
    running = snap.status == Status.RUNNING
    done = snap.status in Status.DONE
    c1, c2, c3, c4 = st.columns([1.2, 1, 1, 2.2])
    # Streamlit may deliver one click twice (once to a live fragment's rerun, again to the full
    # rerun). The keys change after every action, so a late copy finds its button gone.
    gen = st.session_state.setdefault(prefix + _GENERATION, 0)
    c1.button("Pause" if running else ("Finished" if done else "Resume" if snap.step else "Start"), type="primary",
              icon=":material/pause:" if running else ":material/play_arrow:",
              width="stretch", disabled=done, on_click=_start_or_pause, key=f"{prefix}start-{gen}",
              args=(lab, lab_id, prefix, "pause" if running else "start"))
    c2.button("Step", icon=":material/skip_next:", width="stretch", disabled=done, on_click=_step,
              args=(lab, lab_id, prefix), key=f"{prefix}step-{gen}")
    c3.button("Reset", icon=":material/restart_alt:", width="stretch", on_click=_reset, args=(lab, lab_id, prefix),
              key=f"{prefix}reset-{gen}")
    return c4


def speed_control(container, lab: Lab) -> None:
    container.select_slider("Speed", options=list(SPEEDS), key="speed", on_change=_speed, args=(lab,),
                            help="Slow the run down to watch scanning and snapping unfold")
    lab.runner.delay = SPEEDS[st.session_state.get("speed", "full speed")]


def busy_text() -> str:
    """Why the server-wide training cap refused a start."""
    return f"Server busy: {REGISTRY.max_training} sessions are training right now. Try again in a moment."


def busy_warning() -> None:
    """Shown after a Start or Step that the server-wide training cap refused."""
    if st.session_state.pop(_BUSY, False):
        st.warning(busy_text())


_GENERATION = "_run_controls_generation"
_BUSY = "_run_controls_busy"


def _acted(prefix: str) -> None:
    st.session_state[prefix + _GENERATION] = st.session_state.get(prefix + _GENERATION, 0) + 1


def _may_start(lab_id: str) -> bool:
    if REGISTRY.may_start(lab_id):
        return True
    st.session_state[_BUSY] = True
    return False


def _start_or_pause(lab: Lab, lab_id: str, prefix: str, action: str) -> None:
    """Do what the button said when it was drawn (not a toggle: a late or repeated click can
    never flip the run the wrong way)."""
    _acted(prefix)
    lab = REGISTRY.revive(lab_id, lab)
    if action == "pause":
        lab.runner.pause()
    elif _may_start(lab_id):
        lab.runner.start()


def _step(lab: Lab, lab_id: str, prefix: str) -> None:
    _acted(prefix)
    lab = REGISTRY.revive(lab_id, lab)
    if _may_start(lab_id):
        lab.runner.step_once(wait=2.0)


def _reset(lab: Lab, lab_id: str, prefix: str) -> None:
    _acted(prefix)
    lab = REGISTRY.revive(lab_id, lab)
    lab.runner.reset(lab.pending)  # None: the same run(s) from step 0
    lab.pending = None


def _speed(lab: Lab) -> None:
    lab.runner.delay = SPEEDS[st.session_state["speed"]]


@st.fragment(run_every=max(5.0, IDLE_TTL / 4))
def heartbeat(lab: Lab) -> None:
    """Keeps a session's trainer alive while its tab is open, even when nothing refreshes."""
    lab.touch()


def phase_caption(snap: Snapshot, data: RunData, full: RunData | None = None) -> None:
    """What the run's measured events say so far, beside the SGD theory's times, where the run leaves
    the theory's assumptions, and at a snap the attended tokens (``full``: the whole run, when
    ``data`` is a replayed part of it)."""
    if snap.step == 0:
        st.caption("Ready: attention starts uniform over each class's tokens (zero init) or near it (default init).")
        return
    events, theory, gaps = event_notes(data)
    st.caption(f"{events} {theory}")
    at_snap = composition_at_snap(data)
    if at_snap is not None:
        where = f"step {data.snap_step}" + (f", record of step {at_snap.step}" if at_snap.step != data.snap_step else "")
        if full is None:  # unchanged since the snap by the snap's own rule
            st.caption(f"Attended distinct tokens since the snap ({where}): {at_snap.describe()}.")
        else:  # a replay: what the rest of the run did with them
            final = Composition.of(full, full.latest)
            later = ("still the same at the end of the run" if at_snap.tokens == final.tokens else
                     f"they had changed by the end of the run to {final.describe()}")
            st.caption(f"Attended distinct tokens at the snap ({where}): {at_snap.describe()}; {later} "
                       f"(step {final.step}).")
    if gaps:
        st.caption(f":material/info: {gaps}")


def events_line(data: RunData) -> str:
    """One short line: the measured scan peak and snap (for pages that show several runs)."""
    ev = data.events
    peak = "—" if ev.scan_peak_step is None else f"step {ev.scan_peak_step}"
    snapped = "not yet" if ev.snap_step is None else f"step {ev.snap_step}"
    adam = " · Adam: outside the SGD theory" if data.config.train.optimizer == "adam" else ""
    return f"Scan peak: {peak} · Snap: {snapped}{adam}"


def kpis(snap: Snapshot, data: RunData) -> None:
    c = st.columns([1.1, 0.9, 1.2, 1, 1])
    c[0].metric("Step", f"{snap.step:,} / {snap.total_steps:,}")
    c[1].metric("Loss", f"{snap.losses[-1]:.4g}" if len(snap.losses) else "—")
    c[2].metric("Distinct-token entropy", f"{float(snap.latest.entropy_distinct[0]):.4f} nats")
    ev = data.events
    c[3].metric("Scan peak", "—" if ev.scan_peak_step is None else f"step {ev.scan_peak_step}",
                help=f"Step of fastest attention movement: the peak of the {SPEED_WINDOW}-step mean of ‖ΔZ‖. "
                     "None while it still rises, or when it was highest in its first window (no interior peak).")
    c[4].metric("Snap", "not yet" if ev.snap_step is None else f"step {ev.snap_step}",
                help=f"First step from which ‖ΔZ‖ stays below {SNAP_FRACTION:.0%} of its peak, the attended "
                     f"distinct tokens stay the same, and the logits travel at most {SNAP_FRACTION:.0%} of their "
                     "path in the next as many steps. Shown once the run reaches twice that step.")


def thin(data: RunData, keep: int = LIVE_RECORDS) -> RunData:
    """At most `keep` records, evenly spread (live charts stay light on long runs; the events are
    those of the whole data)."""
    if len(data.records) <= keep:
        return data
    idx = np.unique(np.linspace(0, len(data.records) - 1, keep).round().astype(int))
    return replace(data, records=tuple(data.records[i] for i in idx))


def views(data: RunData) -> None:
    """The views, all from the same data (live or replayed): the attention heatmap and the logit
    trajectories, then one secondary view picked by the user."""
    shown = thin(data)
    cls = min(int(st.session_state.get("view_class") or 0), data.layout.K - 1)
    query = int(data.layout.psi[cls])
    left, right = st.columns(2)
    with left:
        live_chart(figures.attention_heatmap(shown), key="v_attention", filename="attention")
    with right:
        live_chart(figures.logit_trajectories(shown, query), key="v_logits", filename="logits", uirevision=f"logits-{query}")
    cls = secondary_picker(data.layout.K)
    # one secondary view at a time: drawing every view on each refresh would halve the refresh rate
    choice = st.session_state.get("secondary_view") or SECONDARY[0]
    if choice == "Attention history":
        fig, name = figures.attention_history(shown, cls), "attention-history"
    elif choice == "Theory vs experiment":
        fig, name = figures.theory_vs_experiment(shown, cls), "theory-vs-experiment"
    else:
        fig, name = figures.decoder_panel(shown), "decoder"
    live_chart(fig, key="v_secondary", filename=name, uirevision=f"{name}-{cls}")


SECONDARY = ("Attention history", "Theory vs experiment", "Decoder")


def secondary_picker(num_classes: int) -> int:
    """Which secondary view, and for which class (outside the live fragment)."""
    c1, c2 = st.columns([3, 1])
    c1.segmented_control("Second row", SECONDARY, default=SECONDARY[0], key="secondary_view",
                         help="The history heatmap (the paper's Fig. 4), the growth factor beside the theory's "
                              "bounds, or the decoder's correct-token logit, probability and loss")
    if num_classes <= 1:
        return 0
    return c2.selectbox("Class", list(range(num_classes)), format_func=lambda n: f"class {n + 1}",
                        key="view_class", help="Class shown in the history and theory views")


@contextmanager
def live_status(lab: Lab, running: bool, what: str = "step"):
    """The body of a live status fragment, the same on every run page: keeps the lab alive, leaves
    live mode once the run stops (a full rerun shows replay and export), then, timed as one KPI
    refresh, draws the progress bar and the run's status line and yields the snapshot for the page's
    own KPIs.  ``what`` names the step counter ("shared step" for a pair)."""
    lab.touch()
    snap = lab.runner.snapshot()
    if running and snap.status != Status.RUNNING:
        st.rerun()  # the run just paused or ended: leave live mode
    with paced(pacing.KPI, running):
        st.progress(min(1.0, snap.step / snap.total_steps),
                    text=f"{what} {snap.step:,} of {snap.total_steps:,} · {snap.steps_per_second:,.0f} steps/s · "
                         f"{snap.status}")
        status_line(snap)
        yield snap


def status_line(snap: Snapshot) -> None:
    if snap.status in (Status.ERROR, Status.DIVERGED):
        st.error(snap.message + " Press Reset to start over.")
    elif snap.status == Status.FINISHED:
        st.success(snap.message + " Use the replay slider below to revisit any step.")


def replay_step(data: RunData, running: bool, key: str, label: str = "Replay: step shown in every view") -> int | None:
    """Once a run is paused or finished, a slider over its recorded steps; the step picked (None while
    live or before anything was recorded)."""
    if running or len(data.records) < 2:
        return None
    steps = [int(s) for s in data.steps]
    return st.select_slider(label, options=steps, value=steps[-1], key=key)


def export_panel(data: RunData, summary: dict, cfg: RunConfig) -> None:
    """Figure pack (zip) download and the reproducing command."""
    from scansnap_core.export import figure_pack  # kaleido is loaded only when exporting

    c1, c2 = st.columns([1, 3])
    if c1.button("Prepare figure pack", key="prepare_pack",
                 help="PNG (2x) and SVG of every view, metrics as CSV and Parquet, config JSON, CLI command"):
        with st.spinner("Rendering figures…"):
            try:
                st.session_state["_pack"] = (data.latest.step, figure_pack(data, summary))
            except Exception as err:  # rendering depends on a system browser; say what failed
                st.session_state.pop("_pack", None)
                st.error(f"Could not render the figures ({type(err).__name__}: {err}). "
                         "Static export needs Chromium installed on the server.")
    pack = st.session_state.get("_pack")
    if pack is not None:
        c1.download_button("⬇ Download figure pack", pack[1], file_name=f"scansnap-step{pack[0]}.zip",
                           mime="application/zip", key="download_pack", type="primary")
    c2.code(cli_command(cfg), language="bash")
