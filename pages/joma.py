"""JoMA: joint MLP/attention dynamics (Tian, Wang, Zhang, Chen, Du, ICLR 2024), one demo at a time.  Demo picker
and sidebar form -> validated config -> a background Runner per demo and session -> pure figure builders, refreshed
live (scansnap_app/study_page.py; docs/THEORY.md, "JoMA")."""

import functools

import numpy as np
import streamlit as st

from scansnap_app import config_form, entry, export_settings, url_state
from scansnap_app.live_chart import live_chart
from scansnap_app.sessions import new_session_id
from scansnap_app.study_page import study_page
from scansnap_app.url_state import KEEP
from scansnap_core.joma.config import DEMOS, ReducedConfig
from scansnap_core.joma.explain import (hier_captions, hier_kpis, invariant_captions, invariant_kpis, lm_captions,
                                       lm_kpis, reduced_captions, reduced_kpis)
from scansnap_core.joma.figures import (HIER_FIGURES, INVARIANT_FIGURES, LM_FIGURES, REDUCED_FIGURES,
                                        latent_unit_figure, reduced_entropy_figure)
from scansnap_core.joma.export import FIGURES, cli_command, figure_pack
from scansnap_core.joma.lm import WIKITEXT_REFERENCE
from scansnap_core.joma.reduced import rebound_started
from scansnap_core.joma.results import live_runner, train
from scansnap_core.lab.fields import ConfigError

entry.through_app()

URL_PAGE = "joma"
DEMO_KEY = "joma_demo"
LABELS = {"invariant": "1 · The invariant", "reduced": "2 · Sparse, then dense", "lm": "3 · A small transformer",
          "hier": "4 · Hierarchical latents"}


def prefix(demo: str) -> str:
    return f"joma_{demo}_"


def read_url(params: dict[str, str]) -> tuple[dict, list[str]]:
    """The demo (``demo=``) and each demo's settings (``<demo>.<field>=``), each checked; notices for the rest."""
    params, values, notices = dict(params), {}, []
    demo = params.pop("demo", "invariant")
    if demo not in DEMOS:
        notices.append(f"demo = {demo!r} is not a demo (allowed: {', '.join(DEMOS)}); showing 'invariant'")
        demo = "invariant"
    values[DEMO_KEY] = demo
    for name, (config_cls, _) in DEMOS.items():
        demo_values, demo_notices = config_form.read_url(config_cls, prefix(name), f"{name}.", params)
        values.update(demo_values)
        notices += demo_notices
    notices += [f"{k} = {v!r} is not a setting of this page — ignored" for k, v in params.items()
                if not k.startswith(tuple(f"{name}." for name in DEMOS))]
    return values, notices


st.title("JoMA: joint MLP/attention dynamics")
st.caption("Along gradient flow a self-attention layer's logits are a function of the MLP above it (an invariant "
           "integrates attention out); attention first turns **sparse**, then **dense** again: Tian, Wang, Zhang, "
           "Chen, Du, ICLR 2024.")
url_state.restore(URL_PAGE, read_url)
url_state.show_notices(URL_PAGE)
demo = st.segmented_control("Demo", list(DEMOS), format_func=LABELS.get, **KEEP, key=DEMO_KEY, required=True)
config_cls = DEMOS[demo][0]
what = DEMOS[demo][1]
st.caption(what[0].upper() + what[1:] + ("" if what.endswith("?") else "."))
#: fields a demo's form leaves out while another setting makes them moot
MOOT = {("invariant", "hidden"): lambda ss: ss.get(prefix("invariant") + "mlp") != "relu"}
with st.sidebar.expander(f"{LABELS[demo]}: settings", expanded=True):
    config_form.form(config_cls, prefix(demo), st.container(),
                     fields=tuple(f for f in config_cls.field_names()
                                  if not MOOT.get((demo, f), lambda ss: False)(st.session_state)))
try:
    cfg, error = config_form.current(config_cls, prefix(demo)), None
except ConfigError as err:
    cfg, error = None, str(err)


def write_url(config, has_run: bool) -> None:
    url_state.write({"demo": demo, **config_form.url_params(config, f"{demo}.")}, has_run)


def chart_grid(figures: dict, names: list[tuple[str, ...]], notes: dict[str, str], view) -> None:
    for row in names:
        for column, name in zip(st.columns(len(row)), row):
            with column:
                live_chart(figures[name](view), key=f"joma-{demo}-{name}", filename=f"joma-{demo}-{name}",
                           height=380)
                st.caption(notes[name])


@functools.lru_cache(maxsize=16)
def other_variant(config: ReducedConfig):
    """The same μ with the other variant (saturating or linear), for contrast: 5,000 steps take about 0.1 s."""
    return train("reduced", config.replace(linear=not config.linear))


def invariant_views(view, replayed) -> None:
    chart_grid(INVARIANT_FIGURES, [("nc", "logits"), ("weights", "unit_weights"), ("distributions", "entropy")],
               invariant_captions(view), view)


def reduced_views(view, replayed) -> None:
    figures = {**REDUCED_FIGURES, "entropy": lambda v: reduced_entropy_figure(v, other_variant(v.config))}
    chart_grid(figures, [("entropy", "components"), ("t90",)], reduced_captions(view), view)


def lm_views(view, replayed) -> None:
    chart_grid(LM_FIGURES, [("entropy", "loss"), ("rank",)], lm_captions(view), view)
    st.markdown("**For reference: the authors' recorded WikiText2 runs** (static numbers quoted by the spec, not "
                "computed here; emsize 200, one head, dropout 0.2, Adam, 3 seeds)")
    st.dataframe([dict(zip(("run", "layer", "entropy at start", "lowest (minibatch)", "end"), row))
                  for row in WIKITEXT_REFERENCE], hide_index=True)


def hier_views(view, replayed) -> None:
    chart_grid(HIER_FIGURES, [("correlation", "latents")], hier_captions(view), view)
    choices = [(level, int(i)) for level, (best, _) in enumerate(view.per_latent)
               for i in np.flatnonzero(np.isfinite(best))]  # latents active in some samples only
    left, right = st.columns(2)
    with left:
        level, latent = st.selectbox("Latent to inspect", choices, **KEEP, key="joma_hier_latent",
                                     format_func=lambda c: f"level {c[0]}, latent {c[1]}",
                                     help="Its best-matching MLP unit, at the latest evaluation")
        live_chart(latent_unit_figure(view, level, latent), key="joma-hier-latent", filename="joma-hier-latent",
                   height=380)
        st.caption("Where the latent is active, its best unit should fire more: the gap between the boxes is what "
                   "the correlation measures.")
    with right:
        live_chart(HIER_FIGURES["loss"](view), key="joma-hier-loss", filename="joma-hier-loss", height=380)
        st.caption(hier_captions(view)["loss"])


VIEWS = {"invariant": (invariant_kpis, invariant_views, None),
         "reduced": (reduced_kpis, reduced_views, rebound_started),
         "lm": (lm_kpis, lm_views, None), "hier": (hier_kpis, hier_views, None)}
kpis, views, when = VIEWS[demo]


def export(snapshot) -> None:
    c1, c2 = st.columns([1, 3])
    export_settings.figure_pack_button(
        c1, lambda style: (snapshot.step, figure_pack(demo, snapshot.data, style)), f"joma-{demo}", f"joma_{demo}_pack",
        help="PNG and SVG of every chart with captions, the per-step tables as CSV and Parquet, config and summary "
             "JSON, and the command")
    c2.code(cli_command(demo, snapshot.config), language="bash")


study_page(st.session_state.setdefault("session_id", new_session_id()) + f"-joma-{demo}", cfg, error,
           lambda: live_runner(demo, cfg or config_cls()), prefix=prefix(demo), write_url=write_url, kpis=kpis,
           views=views, export=export, stops=(lambda c: {}) if when else None, when=when,
           also="when the attention turns dense again" if when else "", animations=FIGURES[demo])
