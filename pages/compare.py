"""Compare (A/B): two runs on the same data that differ in a few settings, trained together.

Settings for A and B -> two validated RunConfigs -> one Runner stepping both in lockstep (one
shared step counter) -> the figure builders for each side, the difference heatmap and the
attended-token sets of scansnap_core.scan_snap.compare.  Default: the paper's Fig. 5 contrast, SGD vs
Adam (η_Y = η_Z = 0.5) on Syn-Small.

The pair is kept in the sessions registry under its own id (``<session id>-compare``), so the
server-wide training cap counts it as one training session, the watchdog stops it when the
tab closes, and it never disturbs the same session's Live Lab run.
"""

from functools import partial

import streamlit as st

from scansnap_app import entry, live, pacing, run_controls, url_state, views
from scansnap_app.animation_export import animation_export
from scansnap_app.live_chart import live_chart
from scansnap_app.sessions import MAX_RECORDS, REGISTRY, new_session_id
from scansnap_app.url_state import KEEP
from scansnap_core.lab.fields import ConfigError
from scansnap_core.lab.numbers import loss_text
from scansnap_core.lab.runner import Status
from scansnap_core.scan_snap import figures
from scansnap_core.scan_snap.compare import ATTENDED_MARGIN, compare_runs
from scansnap_core.scan_snap.config import RunConfig
from scansnap_core.scan_snap.engine import live_runner
from scansnap_core.scan_snap.fields import FIELD_CHOICES, FIELD_HELP, FIELD_LABELS
from scansnap_core.scan_snap.presets import preset

entry.through_app()

ss = st.session_state
session_id = ss.setdefault("session_id", new_session_id())

BASE_PRESET = "syn-small"
SIDES = ("A", "B")
#: the settings a side may change (everything else is the Syn-Small preset)
DEFAULTS = {
    "A": dict(optimizer="sgd", eta_y=1.0, eta_z=1.0, seed=2, init="zero"),
    "B": dict(optimizer="adam", eta_y=0.5, eta_z=0.5, seed=2, init="zero"),
}
#: Fig. 5's Adam learning rates, η_Y = η_Z
FIG5_ETAS = (0.1, 0.5, 1.0)

for side in SIDES:  # defaults live in session state: the Fig. 5 buttons set these keys too
    for name, value in DEFAULTS[side].items():
        ss.setdefault(f"cmp_{side}_{name}", value)
ss.setdefault("cmp_steps", preset(BASE_PRESET).train.steps)

url_state.restore("compare", lambda params: ({}, []))  # no settings in its URL, only the run mark
st.title("Compare A/B")
url_state.show_notices("compare")
st.caption(
    "Two runs on the same Syn-Small data, trained together with one shared step counter. The default is the "
    "paper's Fig. 5 contrast: SGD drifts the attention towards the most frequent distinct tokens, Adam "
    "(η_Y = η_Z ∈ {0.1, 0.5, 1}) steers it to other subsets of the distinct tokens."
)


def _set_etas(side: str, eta: float) -> None:
    ss[f"cmp_{side}_eta_y"] = ss[f"cmp_{side}_eta_z"] = eta


def side_settings(side: str) -> None:
    """The handful of fields a side may change."""
    st.subheader(f"Run {side}")
    c1, c2 = st.columns(2)
    c1.selectbox(FIELD_LABELS["optimizer"], FIELD_CHOICES["optimizer"], **KEEP, key=f"cmp_{side}_optimizer",
                 format_func=str.upper, help=FIELD_HELP["optimizer"])
    c2.selectbox(FIELD_LABELS["init"], FIELD_CHOICES["init"], **KEEP, key=f"cmp_{side}_init", help=FIELD_HELP["init"])
    for col, name in ((c1, "eta_y"), (c2, "eta_z"), (c1, "seed")):
        col.number_input(FIELD_LABELS[name], **KEEP, key=f"cmp_{side}_{name}", step=1 if name == "seed" else 0.1,
                         format=None if name == "seed" else "%g", help=FIELD_HELP[name])
    buttons = st.columns(len(FIG5_ETAS))  # the side's full width: in half of it the labels were cut ("η…")
    for col, eta in zip(buttons, FIG5_ETAS):  # setting a value is idempotent: a doubled click is harmless
        col.button(f"η = {eta:g}", key=f"cmp_{side}_fig5_{eta:g}", on_click=_set_etas, args=(side, eta),
                   help=f"Fig. 5: η_Y = η_Z = {eta:g}", width="stretch")


def side_config(side: str) -> RunConfig:
    """The validated config of one side (raises ConfigError naming the field, value and range)."""
    fields = {name: ss[f"cmp_{side}_{name}"] for name in DEFAULTS[side]}
    return preset(BASE_PRESET).replace(steps=ss["cmp_steps"], **fields)


left, right = st.columns(2)
with left:
    side_settings("A")
with right:
    side_settings("B")
st.number_input(FIELD_LABELS["steps"] + " (shared)", **KEEP, key="cmp_steps", step=50, help=FIELD_HELP["steps"])

configs, errors = [], []
for side in SIDES:
    try:
        configs.append(side_config(side))
    except ConfigError as err:
        errors.append(f"Invalid setting for run {side}: {err}.")
for message in errors:
    st.error(message + " Training keeps the last valid settings.")

DEFAULT_PAIR = tuple(preset(BASE_PRESET).replace(**DEFAULTS[side]) for side in SIDES)
PAIR_ID = f"{session_id}-compare"  # the pair's own entry in the sessions registry
lab = REGISTRY.lab(PAIR_ID, lambda: live_runner(DEFAULT_PAIR if errors else tuple(configs), max_records=MAX_RECORDS))
runner = lab.runner
if not errors:
    lab.sync(tuple(configs))  # the Live Lab's rule, for a pair
url_state.write({}, has_run=runner.status != Status.IDLE)
if lab.pending is not None:
    st.info("You changed the settings of a run in progress: they apply when you press **Reset**.")
run_controls.busy_warning()

running = runner.busy  # training, or finishing a step or a build that Pause, Step or Start began
kpi_every, chart_every = live.live_intervals()
c4 = run_controls.run_controls(lab, PAIR_ID, prefix="cmp-")


# ---------------------------------------------------------------- live parts
@st.fragment(run_every=kpi_every if running else None)
def live_status() -> None:
    with live.live_status(lab, running, what="shared step"):
        live.not_built(lab)  # the pair's KPIs are drawn with the charts, at the replayed step


def _describe(cfg: RunConfig) -> str:
    t = cfg.train
    return f"{t.optimizer.upper()}, η_Y = {t.eta_y:g}, η_Z = {t.eta_z:g}, seed {t.seed}, {cfg.model.init} init"


def _titled(fig, side: str):
    """Prefix a figure's title with its side, so A and B cannot be mixed up."""
    return fig.update_layout(title=dict(text=f"{side} · {fig.layout.title.text}"))


query = int(c4.selectbox("Logit trajectories of", range(DEFAULT_PAIR[0].data.num_query),
                         format_func=lambda q: f"query {q + 1}", **KEEP, key="cmp_query"))


def pair_views() -> None:
    """Both runs side by side at the same step: KPIs, heatmaps, logits, their difference and the
    attended tokens."""
    snaps = runner.snapshots()  # both sides at the same shared step
    data = [s.data for s in snaps]
    if data[0] is None:  # not built: the status fragment says why
        return
    shown = live.replay_step(data[0], running, key="cmp_replay", label="Replay: step shown on both sides")
    if shown is not None:
        data = [d.upto(shown) for d in data]
    result = compare_runs(*data)
    k = st.columns([0.9, 1.2, 1.5, 0.9])
    k[0].metric("Step", f"{result.step:,} / {snaps[0].total_steps:,}")
    k[1].metric("Distinct-token entropy A / B (nats)", f"{result.entropy_a:.3f} / {result.entropy_b:.3f}")
    k[2].metric("Training loss A / B",
                f"{loss_text(result.loss_a)} / {loss_text(result.loss_b)}" if result.step else "—")
    k[3].metric("Largest |c_A − c_B|", f"{result.max_attention_gap:.3f}")
    # one colour range for both heatmaps, so equal colours mean equal attention on both sides
    zmax = max(float(d.latest.attention[d.run].max()) for d in data)
    cols = st.columns(2)
    for side, col, d, s in zip(SIDES, cols, data, snaps):
        with col:
            st.markdown(f"**{side}**: {_describe(s.config)}")
            st.caption(views.events_line(d))
            shown_data = views.thin(d)
            heatmap = _titled(figures.attention_heatmap(shown_data), side).update_traces(zmax=zmax)
            live_chart(heatmap, key=f"cmp_attention_{side}", filename=f"compare-attention-{side}", height=380)
            live_chart(_titled(figures.logit_trajectories(shown_data, query), side), key=f"cmp_logits_{side}",
                       filename=f"compare-logits-{side}", height=380, uirevision=f"logits-{side}-{query}")
    live_chart(figures.attention_difference(*data), key="cmp_difference", filename="compare-difference", height=360)
    st.markdown("**Distinct tokens each run attends to** (more than "
                f"{1 + ATTENDED_MARGIN:g} × the uniform share of its class's distinct-token attention)")
    for c in result.classes:
        if c.only_a or c.only_b:
            st.markdown(f"- class {c.cls + 1}: only A attends to **{', '.join(map(str, c.only_a)) or 'none'}**, "
                        f"only B to **{', '.join(map(str, c.only_b)) or 'none'}**")
    if not result.differs:
        st.caption("A and B attend to the same distinct tokens at this step.")
    st.dataframe(result.table(), hide_index=True)


@st.fragment(run_every=chart_every if running else None)
def live_views() -> None:
    with live.paced(pacing.CHART, running):
        pair_views()


live_status()
live_views()
run_controls.heartbeat(lab)
pair = runner.snapshots()
if not running and pair[0].data is not None and pair[0].step > 0:
    with st.expander("Export: animation of run A or B", expanded=False):
        side = st.segmented_control("Run", SIDES, default=SIDES[0], key="cmp_animation_side") or SIDES[0]
        shown = pair[SIDES.index(side)].data
        animation_export(partial(figures.write_animation, shown, query=query), f"compare-{side}",
                         shown.latest.step, f"cmp_animation_{side}", run=(shown.config, query))
