"""Learning-rate sweep: the paper's Fig. 6 experiment (docs/THEORY.md §7) behind one button.

Grid widgets -> fig6_configs -> a background sweep job (batched engine) polled by a fragment ->
pure figure builders.  Partial results appear as each batched group finishes.
"""


import pandas as pd
import streamlit as st

from scansnap_app import entry, sweep_jobs, url_state
from scansnap_app.controls import RATES, live_lab_link
from scansnap_app.live_chart import live_chart
from scansnap_app.sessions import new_session_id
from scansnap_app.url_state import KEEP
from scansnap_core.lab.fields import ConfigError
from scansnap_core.lab.jobs import SweepJob
from scansnap_core.scan_snap import figures
from scansnap_core.scan_snap.presets import PRESETS
from scansnap_core.scan_snap.sweep import (FIG6_GRID, cell_config, fig6_configs, summarize_sweep, sweep_job,
                                           sweep_memory_bytes, sweep_seconds)
from scansnap_core.scan_snap.theory import assumption_note

entry.through_app()

RATIOS = (0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0)
JOB = "sweep_job"
#: the heatmap pair: measured event column beside the SGD theory's phase time
EVENTS = {"Scan peak vs t0′": ("scan_peak_step", "t0_prime", "SGD theory: t0′ (end of scanning)"),
          "Snap vs t0": ("snap_step", "t0", "SGD theory: t0 (start of snapping)")}
ss = st.session_state
#: this session's sweep in the sessions registry
SWEEP_ID = ss.setdefault("session_id", new_session_id()) + "-sweep"

url_state.restore("sweep", lambda params: ({}, []))  # no settings in its URL, only the run mark
st.title("Learning-rate sweep (Fig. 6)")
url_state.show_notices("sweep")
st.caption(
    "How sparse does the attention end up? Each run trains Syn-Medium for a few steps; the final entropy of the "
    "attention over the distinct tokens is low when attention snapped onto few tokens. The paper (§7) reports "
    "that it falls as η_Z grows and rises with η_Y/η_Z; the charts below show what this grid measured. The "
    "defaults are exactly the paper's grid: 4 query-token counts × 4 η_Z × 4 ratios × 10 seeds, 100 steps."
)

c = st.columns(3) + st.columns([1, 1, 2.2])  # the value lists get a third of the width each: all tags show
num_query = c[0].multiselect("Query tokens", list(range(1, 11)), default=list(FIG6_GRID["num_query"]), **KEEP,
                             key="sw_num_query", help="One panel per number of query tokens (Syn-Medium layouts)")
eta_z = c[1].multiselect("η_Z (attention)", list(RATES), default=list(FIG6_GRID["eta_z"]), **KEEP,
                         key="sw_eta_z", format_func=lambda v: f"{v:g}")
ratios = c[2].multiselect("η_Y / η_Z", list(RATIOS), default=list(FIG6_GRID["ratio"]), **KEEP, key="sw_ratio",
                          format_func=lambda v: f"{v:g}")
seeds = c[3].number_input("Seeds", 1, 20, len(FIG6_GRID["seeds"]), **KEEP, key="sw_seeds", help="Seeds 1, 2, …, n")
steps = c[4].number_input("Steps", 1, 5000, FIG6_GRID["steps"], **KEEP, key="sw_steps")

configs, error = [], None
missing = [label for label, chosen in (("Query tokens", num_query), ("η_Z", eta_z), ("η_Y / η_Z", ratios))
           if not chosen]
if missing:
    error = f"{', '.join(missing)}: choose at least one value"
else:
    try:
        configs = fig6_configs(num_query=sorted(num_query), eta_z=sorted(eta_z), ratio=sorted(ratios),
                               seeds=range(1, int(seeds) + 1), steps=int(steps))
    except ConfigError as err:
        error = str(err)
if error:
    st.error(f"Invalid grid: {error}.")

left, right = st.columns([1, 3])
backend = sweep_jobs.backend()
sweep_jobs.run_button(left, JOB, SWEEP_ID, lambda: sweep_job(configs, backend),
                      sweep_memory_bytes(configs) if configs else 0,
                      "Run sweep", key_prefix="sw_", cancel_label="Cancel sweep", disabled=not configs)
job: SweepJob | None = ss.get(JOB)
url_state.write({}, has_run=job is not None)
if configs:
    right.caption(f"{len(configs):,} runs × {int(steps):,} steps: about {max(1, round(sweep_seconds(configs))):,} s "
                  "on a free core (an estimate; once the first layout has trained, the progress bar gives the time "
                  "left at the measured speed). Runs that share a layout train together as one batched model. "
                  + sweep_jobs.where(backend))


def _open_in_live_lab(summary: pd.DataFrame) -> None:
    st.markdown("**Open a cell in the Live Lab**: select a row, then follow the link (seed 1).")
    shown = summary.rename(columns={"num_query": "query tokens", "eta_z": "η_Z", "ratio": "η_Y/η_Z",
                                    "entropy_mean": "entropy (mean)", "entropy_std": "entropy (std)",
                                    "scan_peak_mean": "scan peak (mean)", "scan_peaks": "seeds with a scan peak",
                                    "snap_mean": "snap (mean)", "snapped": "seeds snapped"})
    steps_format = st.column_config.NumberColumn(format="%.1f")  # a mean over seeds of a step
    picked = st.dataframe(shown, hide_index=True, on_select="rerun", selection_mode="single-row", key="sw_table",
                          width="stretch", height=260,
                          column_config={"scan peak (mean)": steps_format, "snap (mean)": steps_format,
                                         "entropy (mean)": st.column_config.NumberColumn(format="%.4f"),
                                         "entropy (std)": st.column_config.NumberColumn(format="%.4f")})
    rows = picked.selection.rows if picked is not None else []
    if rows:
        row = summary.iloc[rows[0]]
        q = int(row["num_query"])
        cfg = cell_config(q, float(row["eta_z"]), float(row["ratio"]), seed=1, steps=int(steps))
        name = f"syn-medium-{q}" if f"syn-medium-{q}" in PRESETS else "syn-medium-1"  # the URL names the rest
        st.link_button(f"Open {q} query token(s), η_Z = {row['eta_z']:g}, η_Y/η_Z = {row['ratio']:g} in the Live Lab",
                       live_lab_link(cfg, name), icon=":material/open_in_new:")


@st.fragment(run_every=0.5 if job is not None and job.running else None)
def results() -> None:
    job: SweepJob | None = ss.get(JOB)
    if job is None:
        st.info("Press **Run sweep** to train the grid.")
        return
    sweep_jobs.job_status(job, SWEEP_ID, JOB)
    table = job.table
    if not len(table):
        return
    summary = summarize_sweep(table)
    live_chart(figures.sweep_entropy(summary), key="sw_entropy", filename="sweep-entropy", height=420)
    panels = sorted(table["num_query"].unique())
    q = st.segmented_control("Heatmaps for", panels, default=panels[-1], **KEEP, key="sw_panel",
                             format_func=lambda v: f"{v} query token{'s' if v > 1 else ''}") or panels[-1]
    live_chart(figures.sweep_heatmap(table, "entropy_distinct", f"Final distinct-token entropy, {q} query token(s)",
                                     q), key="sw_heat_entropy", filename="sweep-entropy-heatmap", height=380)
    measured, theory_column, theory_label = EVENTS[st.segmented_control(
        "Measured event", list(EVENTS), default=list(EVENTS)[1], **KEEP, key="sw_event",
        help="Scan peak: the step of fastest attention movement. Snap: the first step from which the attention "
             "stays nearly still with the same attended tokens (README, 'Measured events'). Cells average the "
             "seeds that have the event; the hover says how many do.") or list(EVENTS)[1]]
    part = table[table["num_query"] == q]
    zmax = float(pd.concat([part[measured], part[theory_column]]).max())  # one colour scale for both heatmaps
    c1, c2 = st.columns(2)
    with c1:
        live_chart(figures.sweep_heatmap(table, measured, f"Measured {measured.replace('_step', '').replace('_', ' ')} "
                                         "step (mean over seeds that have one)", q, zmax=zmax),
                   key="sw_heat_snap", filename=f"sweep-{measured}", height=380)
    with c2:
        live_chart(figures.sweep_heatmap(table, theory_column, theory_label, q, zmax=zmax), key="sw_heat_t0",
                   filename=f"sweep-{theory_column}", height=380)
    snapped = int(part["snap_step"].notna().sum())
    st.caption(f"{snapped} of {len(part)} runs with {q} query token(s) snapped within their {int(part['steps'].max())} "
               f"steps. t0′ and t0 are SGD theory. {assumption_note(*job.configs)}")
    if not job.running:
        _open_in_live_lab(summary)
        sweep_jobs.download_table(table, "Results", "scansnap-sweep", "sw_")


results()
