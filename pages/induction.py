"""Induction heads: a two-layer transformer on n-gram data learns a generalized induction head in three phases
(Chen, Sheen, Wang, Yang, NeurIPS 2024).  Sidebar -> validated InductionConfig -> a background Runner per
session -> pure figure builders, refreshed live by fragments (docs/THEORY.md, "Induction heads")."""

import streamlit as st

from scansnap_app import entry, export_settings, induction_controls as controls, live, pacing, run_controls, url_state
from scansnap_app.live_chart import live_chart
from scansnap_app.sessions import REGISTRY, new_session_id
from scansnap_core.induction.engine import live_runner, selection_reached, stage_stops
from scansnap_core.induction.explain import captions, kpis, phase_summary
from scansnap_core.induction.export import figure_pack
from scansnap_core.induction.figures import FIGURES
from scansnap_core.induction.results import cli_command
from scansnap_core.lab.runner import Status

entry.through_app()

ss = st.session_state
lab_id = ss.setdefault("session_id", new_session_id()) + "-induction"

st.title("Induction heads")
st.caption("A two-layer transformer on n-gram data: the first layer **copies** parent tokens by position, the FFN "
           "**selects** which parents to use (by a modified χ² mutual information), the second layer **matches** "
           "histories: Chen, Sheen, Wang, Yang, NeurIPS 2024.")

cfg, error = controls.sidebar()
url_state.show_notices(controls.URL_PAGE)
lab = REGISTRY.lab(lab_id, lambda: live_runner(cfg or controls.preset(controls.DEFAULT_PRESET)))
if error:
    st.error(f"Invalid setting: {error}. Training keeps the last valid configuration.")
else:
    lab.sync(cfg)
    controls.sync_url(cfg, has_run=lab.runner.status != Status.IDLE)
if lab.pending is not None:
    st.info("You changed settings of a run in progress: they apply when you press **Reset** (the current run is "
            "kept until then).")
for note in controls.assumption_notes(lab.runner.config):
    st.caption(f":material/info: {note}")
run_controls.busy_warning()
run_controls.speed_control(run_controls.run_controls(lab, lab_id, prefix=controls.PREFIX), lab,
                           stage_stops(lab.runner.config), when=selection_reached,
                           also="when the selector has chosen the theory's set (t_I)")
running = lab.runner.busy
kpi_every, chart_every = live.live_intervals()


@st.fragment(run_every=kpi_every if running else None)
def live_status() -> None:
    with live.live_status(lab, running) as snap:
        if live.not_built(lab):
            return
        columns = st.columns(6)
        for column, (label, value, help, note) in zip(columns, kpis(snap.data)):
            column.metric(label, value, note, delta_color="off", delta_arrow="off", help=help)


@st.fragment(run_every=chart_every if running else None)
def live_views() -> None:
    with live.paced(pacing.CHART, running):
        snap = lab.runner.snapshot()
        full = snap.data
        if full is None:
            return
        summary, charts = st.container(), st.container()
        replay = live.replay_step(full, running, key=controls.key("replay"))
        replaying = replay is not None and replay < full.step
        view = full.upto(replay) if replaying else full
        summary.caption((f"**At step {replay}** (replay). " if replaying else "") + phase_summary(view))
        notes = captions(view)
        with charts:
            for row in (("selector", "mutual_info"), ("rpe", "scale"), ("loss", "attention")):
                for column, name in zip(st.columns(2), row):
                    with column:
                        live_chart(FIGURES[name](view), key=f"induction-{name}", filename=f"induction-{name}",
                                   height=380)
                        st.caption(notes[name])


live_status()
live_views()
run_controls.heartbeat(lab)
snapshot = lab.runner.snapshot()
if not running and snapshot.step > 0 and snapshot.data is not None:
    with st.expander("Export: figure pack and reproducing command", expanded=False):
        c1, c2 = st.columns([1, 3])
        export_settings.figure_pack_button(
            c1, lambda style: (snapshot.step, figure_pack(snapshot.data, style)), "induction", "induction_pack",
            help="PNG and SVG of every chart with captions, the per-step tables as CSV and Parquet, config and "
                 "summary JSON, and the command")
        c2.code(cli_command(snapshot.config, out="run"), language="bash")
