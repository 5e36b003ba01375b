"""The body every study page shares below its controls: the run registered for the session, the config synced into
it (changes mid-run wait for Reset), the URL written, Start/Pause/Step/Reset with speed and auto-pause, a live
status fragment with the study's KPIs, a live views fragment with replay, and an export panel once the run stops.
A study page brings its controls, its KPI and views functions and its runner; nothing here knows a study."""

from __future__ import annotations

from functools import partial
from typing import Any, Callable

import streamlit as st

from scansnap_core.lab.animation import write_view_animation
from scansnap_core.lab.runner import Runner, Status

from . import live, pacing, run_controls, sessions
from .animation_export import animation_export

#: (label, value, help, note under the value or None): one KPI
Kpi = tuple[str, str, str, "str | None"]


def metrics(kpis: list[Kpi]) -> None:
    """A row of KPIs, each with its note (stage name, the reference value…) in small print under the value."""
    for column, (label, value, help, note) in zip(st.columns(len(kpis)), kpis):
        column.metric(label, value, note, delta_color="off", delta_arrow="off", help=help)


def study_page(lab_id: str, config: Any, error: str | None, new_runner: Callable[[], Runner], *, prefix: str,
               write_url: Callable[[Any, bool], None], kpis: Callable[[Any], list[Kpi]],
               views: Callable[[Any, int | None], None], export: Callable[[Any], None] | None = None,
               stops: Callable[[Any], dict[int, str]] | None = None, when: Callable[[Any], str | None] | None = None,
               also: str = "", animations: dict[str, Callable[[Any], Any]] | None = None) -> sessions.Lab:
    """Draw the shared body for the run registered as ``lab_id`` (made with ``new_runner()`` on first use).
    ``views(view, replayed_step)`` draws the study's views of the run (``replayed_step`` is None unless the
    replay slider is back in the run); ``stops(config)`` and ``when(engine)`` feed the auto-pause
    (Runner.pause_at); ``export(snapshot)`` fills the export panel of a paused or finished run, below which
    any of ``animations`` ({name: figure builder of a view}) can be exported as an animation of the run."""
    lab = sessions.REGISTRY.lab(lab_id, new_runner)
    if error:
        st.error(f"Invalid setting: {error}. Training keeps the last valid configuration.")
    else:
        lab.sync(config)
        write_url(config, lab.runner.status != Status.IDLE)
    if lab.pending is not None:
        st.info("You changed settings of a run in progress: they apply when you press **Reset** (the current run "
                "is kept until then).")
    run_controls.busy_warning()
    run_controls.speed_control(run_controls.run_controls(lab, lab_id, prefix=prefix), lab,
                               stops(lab.runner.config) if stops else None, when=when, also=also)
    running = lab.runner.busy
    kpi_every, chart_every = live.live_intervals()

    @st.fragment(run_every=kpi_every if running else None)
    def live_status() -> None:
        with live.live_status(lab, running) as snap:
            if not live.not_built(lab):
                metrics(kpis(snap.data))

    @st.fragment(run_every=chart_every if running else None)
    def live_views() -> None:
        with live.paced(pacing.CHART, running):
            full = lab.runner.snapshot().data
            if full is None:  # not built: the status fragment says why
                return
            shown = st.container()
            replay = live.replay_step(full, running, key=prefix + "replay")
            replaying = replay is not None and replay < full.step
            with shown:
                views(full.upto(replay) if replaying else full, replay if replaying else None)

    live_status()
    live_views()
    run_controls.heartbeat(lab)
    snapshot = lab.runner.snapshot()
    if export is not None and not running and snapshot.step > 0 and snapshot.data is not None:
        with st.expander("Export: figure pack, animation and reproducing command", expanded=False):
            export(snapshot)
            if animations:
                name = st.selectbox("Chart to animate", list(animations), key=prefix + "animated_chart",
                                    format_func=lambda n: n.replace("_", " "),
                                    help="The chart replayed from the first step to this one, on the whole run's axes")
                animation_export(partial(write_view_animation, snapshot.data, animations[name]),
                                 f"{prefix.strip('_-').replace('_', '-')}-{name}", snapshot.step, f"{prefix}animation",
                                 run=snapshot.config)
    return lab
