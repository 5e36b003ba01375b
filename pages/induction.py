"""Induction heads: a two-layer transformer on n-gram data learns a generalized induction head in three phases
(Chen, Sheen, Wang, Yang, NeurIPS 2024).  Sidebar -> validated InductionConfig -> a background Runner per
session -> pure figure builders, refreshed live (scansnap_app/study_page.py; docs/THEORY.md, "Induction heads")."""

import streamlit as st

from scansnap_app import entry, export_settings, induction_controls as controls, url_state
from scansnap_app.live_chart import live_chart
from scansnap_app.sessions import new_session_id
from scansnap_app.study_page import study_page
from scansnap_core.induction.engine import live_runner, selection_reached, stage_stops
from scansnap_core.induction.explain import captions, kpis, phase_summary
from scansnap_core.induction.export import figure_pack
from scansnap_core.induction.figures import FIGURES
from scansnap_core.induction.results import cli_command

entry.through_app()

st.title("Induction heads")
st.caption("A two-layer transformer on n-gram data: the first layer **copies** parent tokens by position, the FFN "
           "**selects** which parents to use (by a modified χ² mutual information), the second layer **matches** "
           "histories: Chen, Sheen, Wang, Yang, NeurIPS 2024.")

cfg, error = controls.sidebar()
url_state.show_notices(controls.URL_PAGE)
shown_config = cfg or controls.preset(controls.DEFAULT_PRESET)


def views(view, replayed: int | None) -> None:
    for note in controls.assumption_notes(view.config):  # where this run leaves the theory's setting
        st.caption(f":material/info: {note}")
    st.caption((f"**At step {replayed}** (replay). " if replayed is not None else "") + phase_summary(view))
    notes = captions(view)
    for row in (("selector", "mutual_info"), ("rpe", "scale"), ("loss", "attention")):
        for column, name in zip(st.columns(2), row):
            with column:
                live_chart(FIGURES[name](view), key=f"induction-{name}", filename=f"induction-{name}", height=380)
                st.caption(notes[name])


def export(snapshot) -> None:
    c1, c2 = st.columns([1, 3])
    export_settings.figure_pack_button(
        c1, lambda style: (snapshot.step, figure_pack(snapshot.data, style)), "induction", "induction_pack",
        help="PNG and SVG of every chart with captions, the per-step tables as CSV and Parquet, config and summary "
             "JSON, and the command")
    c2.code(cli_command(snapshot.config, out="run"), language="bash")


study_page(st.session_state.setdefault("session_id", new_session_id()) + "-induction", cfg, error,
           lambda: live_runner(shown_config), prefix=controls.PREFIX, write_url=controls.sync_url, kpis=kpis,
           views=views, export=export, stops=stage_stops, when=selection_reached,
           also="when the selector has chosen the theory's set (t_I)", animations=FIGURES)
