"""The induction-heads page's sidebar (the controls of the spec's A5), its URL state and what the run's settings
mean for the theory.  Widget keys start with ``ind_`` (session state is shared by every page)."""

from __future__ import annotations

import streamlit as st

from scansnap_core.induction.config import FIELD_NAMES, FIELDS, PRESETS, InductionConfig, parents_text, preset
from scansnap_core.induction.engine import plan_run
from scansnap_core.lab.fields import ConfigError
from scansnap_core.lab.limits import LIMITS

from . import config_form, url_state
from .url_state import KEEP

URL_PAGE = "induction"
PREFIX = "ind_"
DEFAULT_PRESET = "defaults"
#: parent sets offered in the selector (a URL may bring another valid one, which is added)
PARENT_SETS = ("1", "2", "1,2", "1,3", "2,3", "1,2,3")
ALPHAS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0)
SAMPLES = (50, 100, 250, 500, 1000, 1500, 2000)
RATES = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0, 10000.0, 30000.0, 100000.0)


def key(name: str) -> str:
    return PREFIX + name


def control_values(cfg: InductionConfig, preset_name: str) -> dict:
    """The widgets' session-state values that show ``cfg`` (parents as text; the mixture as a toggle and λ)."""
    values = {key(name): getattr(cfg, name) for name in FIELD_NAMES}
    values[key("parents")] = parents_text(cfg.parents)
    values[key("mixture_on")] = cfg.mixture is not None
    values[key("mixture")] = cfg.mixture if cfg.mixture is not None else 0.5
    values[key("preset")] = preset_name
    return values


def current_config() -> InductionConfig:
    """What the widgets ask for (ConfigError for a combination that does not fit)."""
    ss = st.session_state
    values = {name: ss[key(name)] for name in FIELD_NAMES if key(name) in ss}
    values["parents"] = FIELDS.parse("parents", ss[key("parents")], ())
    values["mixture"] = ss[key("mixture")] if ss.get(key("mixture_on")) else None
    return InductionConfig(**values)


def read_url(params: dict[str, str]) -> tuple[dict, list[str]]:
    """url_state reader: the preset, then each field on its own range (a value outside it is ignored with a notice
    naming field, value and range), then all of them together (or none, with a notice: e.g. a window smaller
    than the heads)."""
    params, notices = dict(params), []
    name = params.pop("preset", DEFAULT_PRESET)
    if name not in PRESETS:
        notices.append(f"preset = {name!r} is not a preset (allowed: {', '.join(PRESETS)}); using {DEFAULT_PRESET}")
        name = DEFAULT_PRESET
    cfg, field_notices = config_form.config_from_params(preset(name), params, base_name=f"the {name} preset's values")
    notices += field_notices
    return control_values(cfg, name), notices


def sync_url(cfg: InductionConfig, has_run: bool) -> None:
    """The preset and the fields that differ from it, in the URL (and the run mark)."""
    name = st.session_state[key("preset")]
    url_state.write({"preset": name, **cfg.to_query_params(base=preset(name))}, has_run)


def _on_preset() -> None:
    name = st.session_state[key("preset")]
    st.session_state.update(control_values(preset(name), name))


def _slider(name: str, **extra) -> None:
    lo, hi = FIELDS.bounds(name)
    st.slider(FIELDS.labels[name], min_value=lo, max_value=hi, **KEEP, key=key(name), help=FIELDS.help[name], **extra)


def _number(name: str, **extra) -> None:
    lo, hi = FIELDS.bounds(name)
    st.number_input(FIELDS.labels[name], min_value=lo, max_value=hi, **KEEP, key=key(name), help=FIELDS.help[name],
                    **extra)


def _choices(name: str, options) -> None:
    st.select_slider(FIELDS.labels[name], options=sorted(set(options) | {st.session_state[key(name)]}), **KEEP,
                     key=key(name), help=FIELDS.help[name])


def sidebar() -> tuple[InductionConfig | None, str | None]:
    """Draw the controls; (config, None), or (None, what is wrong)."""
    url_state.restore(URL_PAGE, read_url)
    ss = st.session_state
    if key("preset") not in ss:
        ss.update(control_values(preset(DEFAULT_PRESET), DEFAULT_PRESET))
    sb = st.sidebar
    sb.selectbox("Preset", list(PRESETS), **KEEP, key=key("preset"), on_change=_on_preset,
                 format_func=lambda n: f"{n}: {PRESETS[n][1]}", help="Each preset is one of the spec's lessons")
    with sb.expander("Data", expanded=True):
        _slider("vocab")
        options = list(PARENT_SETS) + ([ss[key("parents")]] if ss[key("parents")] not in PARENT_SETS else [])
        st.selectbox(FIELDS.labels["parents"], options, **KEEP, key=key("parents"), help=FIELDS.help["parents"],
                     format_func=lambda p: "{" + p + "}")
        _choices("alpha", ALPHAS)
        mixture_allowed = ss[key("parents")] == "1,2"
        st.toggle("Mixture prior", **KEEP, key=key("mixture_on"), disabled=not mixture_allowed,
                  help=FIELDS.help["mixture"] + ("" if mixture_allowed else " (needs the parents {1,2})"))
        if ss.get(key("mixture_on")):
            st.slider(FIELDS.labels["mixture"], 0.0, 1.0, step=0.05, **KEEP, key=key("mixture"),
                      help=FIELDS.help["mixture"])
        _slider("length", step=8)
        _choices("samples", SAMPLES)
    with sb.expander("Model", expanded=True):
        _slider("heads")
        _slider("window")
        _slider("degree")
        _slider("w_plus", step=0.1)
    with sb.expander("Training", expanded=False):
        st.radio(FIELDS.labels["schedule"], FIELDS.choices["schedule"], **KEEP, key=key("schedule"), horizontal=True,
                 help=FIELDS.help["schedule"])
        stages = ((("selector_steps", "selector_lr"), ("rpe_steps", "rpe_lr"), ("scale_steps", "scale_lr"))
                  if ss[key("schedule")] == "staged" else (("joint_steps", "joint_lr"),))
        for steps, rate in stages:
            left, right = st.columns(2)
            with left:
                _number(steps, step=50)
            with right:
                _choices(rate, RATES)
        st.radio(FIELDS.labels["loss"], FIELDS.choices["loss"], **KEEP, key=key("loss"), horizontal=True,
                 help=FIELDS.help["loss"], format_func={"log": "−log ŷ_y", "cross_entropy": "authors' CE"}.get)
        _number("w_minus", step=0.1, format="%g")
        _number("seed")
    try:
        cfg = current_config()
        mb = plan_run(cfg).memory_bytes / 2**20
    except ConfigError as err:
        return None, str(err)
    sb.caption(f"Estimated training memory: {mb:,.0f} MB (server limit {LIMITS.max_run_memory_mb:,} MB a run).")
    return cfg, None


def assumption_notes(cfg: InductionConfig) -> list[str]:
    """Where this run's settings leave the theory's setting (the page shows each as a note)."""
    notes = []
    if len(cfg.parents) > cfg.degree:
        notes.append(f"The true parents {{{parents_text(cfg.parents)}}} have more members than the FFN degree "
                     f"D = {cfg.degree} allows: the selector can keep at most {cfg.degree} of them, and the theory "
                     "predicts the subset with the largest modified χ²-MI.")
    if max(cfg.parents) > cfg.heads:
        notes.append(f"A parent at distance {max(cfg.parents)} lies beyond the heads' starting preferences "
                     f"(head h starts at distance h, h ≤ {cfg.heads}): no head starts out copying it.")
    if cfg.w_plus - cfg.w_minus < 1:
        notes.append(f"A weak head preference (w₊ − w₋ = {cfg.w_plus - cfg.w_minus:g}): the theory takes heads ≈ "
                     "distances at the start, and staged training may select an unexpected head pair.")
    if cfg.mixture is not None:
        notes.append("With the mixture prior the Bayes line is the posterior mean under a plain Dirichlet prior on the "
                     "parents' table, not the exact Bayes predictor for the mixture: a trained model can end below it.")
    if cfg.loss == "cross_entropy":
        notes.append("The authors' loss −log softmax(ŷ)_y gives a much weaker gradient than −log ŷ_y: the phases take "
                     "far longer than these stage lengths.")
    if cfg.schedule == "joint":
        notes.append("Joint training updates every parameter at once: the three phases overlap, and late in "
                     "training the selector may leak weight to other subsets.")
    return notes
