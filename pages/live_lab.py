"""The Live Lab (home page).

Sidebar controls -> validated RunConfig -> a background Runner per browser session ->
pure figure builders, refreshed live by a Streamlit fragment while training.
"""

import streamlit as st

from scansnap_app import controls, entry, live, pacing, predict_reveal, run_controls, url_state, views
from scansnap_app.sessions import MAX_RECORDS, REGISTRY, new_session_id
from scansnap_core.lab.runner import Status
from scansnap_core.scan_snap.engine import live_runner
from scansnap_core.scan_snap.events import snap_detected
from scansnap_core.scan_snap.presets import preset
from scansnap_core.scan_snap.results import summarize
from scansnap_core.scan_snap.theory import phase_stops

entry.through_app()

ss = st.session_state
session_id = ss.setdefault("session_id", new_session_id())

st.title("Scan & Snap Lab")
st.caption("Attention first **scans** (drops common, then rarely co-occurring tokens), then **snaps** into a fixed "
           "token combination: Tian et al., NeurIPS 2023.")

predicting = predict_reveal.toggle()
link_slot = st.sidebar.container()  # the class's link, under the toggle
cfg, error = controls.sidebar()
url_state.show_notices(controls.URL_PAGE)
lab = REGISTRY.lab(session_id, lambda: live_runner(cfg or preset(controls.DEFAULT_PRESET), max_records=MAX_RECORDS))
if error:
    st.error(f"Invalid setting: {error}. Training keeps the last valid configuration.")
else:
    note = lab.sync(cfg)
    if note:
        st.toast(note)
    controls.sync_url(cfg, has_run=lab.runner.status != Status.IDLE, extra=predict_reveal.MODE.url_params())
    if predicting:
        predict_reveal.share_link(link_slot, controls.url_params(cfg, ss["preset"]))
if lab.pending is not None:
    st.info("You changed settings of a run in progress. Learning rates apply live; everything else applies when "
            "you press **Reset** (the current run is kept until then).")
run_controls.busy_warning()

hold = None
if predicting:  # the questions before Start, the reveal once the run has finished
    asked = cfg or lab.runner.config
    predict_reveal.panel(asked, lab.runner.snapshot())
    hold = predict_reveal.hold(asked, lab.runner.snapshot())
run_controls.speed_control(run_controls.run_controls(lab, session_id, hold=hold), lab, phase_stops(lab.runner.config),
                           when=snap_detected, also="when the snap is detected")
running = lab.runner.busy  # training, or finishing a step or a build that Pause, Step or Start began
kpi_every, chart_every = live.live_intervals()


@st.fragment(run_every=kpi_every if running else None)
def live_status() -> None:
    """Progress and KPIs: cheap, so they refresh several times a second."""
    with live.live_status(lab, running) as snap:
        if live.not_built(lab):
            return
        views.kpis(snap, snap.data)


@st.fragment(run_every=chart_every if running else None)
def live_views() -> None:
    """The charts, then the replay slider and what the run shows: costlier than the KPIs (figures and their
    JSON), so refreshed less often.  The main charts come first, right below the KPIs."""
    with live.paced(pacing.CHART, running):
        snap = lab.runner.snapshot()
        full = snap.data
        if full is None:  # not built: the status fragment says why
            return
        charts = st.container()
        replay = live.replay_step(full, running, key="replay")
        replaying = replay is not None and replay < full.steps[-1]
        data = full.upto(replay) if replaying else full  # the events as a live run could have detected them
        with charts:
            views.main_charts(data)
        if replaying:
            with st.container(border=True):
                st.markdown(f"**At step {replay}** (replay)")
                views.phase_caption(snap, data, full)
        else:
            views.phase_caption(snap, data)
            views.finite_t_note(data)
        views.look_for()
        views.second_row(data)


live_status()
live_views()
run_controls.heartbeat(lab)
snapshot = lab.runner.snapshot()
if not running and snapshot.step > 0:
    with st.expander("Export: figure pack, animation and reproducing command", expanded=False):
        data = snapshot.data
        views.export_panel(data, summarize(data), snapshot.config)
