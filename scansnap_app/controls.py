"""Sidebar controls ↔ :class:`RunConfig`, kept in the URL.

Every control has the config field's name as its widget key.  The URL holds the preset and
the fields that differ from it, so a pasted URL restores the same configuration and seed;
invalid URL values fall back to the preset's value with a notice naming field, value and
allowed range.  Presets and uploaded config files fill every control.
"""

from __future__ import annotations

import urllib.parse

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from scansnap_core.lab.devices import describe_devices, resolve_device
from scansnap_core.lab.fields import ConfigError
from scansnap_core.lab.limits import LIMITS
from scansnap_core.scan_snap.config import RunConfig
from scansnap_core.scan_snap.figures import COMMON_COLOR, DISTINCT_COLOR
from scansnap_core.scan_snap.fields import FIELD_CHOICES, FIELD_HELP, FIELD_LABELS, FIELDS, field_bounds, parse_field
from scansnap_core.scan_snap.layout import Layout
from scansnap_core.scan_snap.memory import check_memory, estimate_memory_bytes
from scansnap_core.scan_snap.presets import PRESETS, preset

from . import sessions, url_state
from .live_chart import live_chart
from .plain import plain
from .url_state import KEEP

PRESET_LABELS = {
    "syn-small": "Syn-Small (Fig. 4)",
    "syn-medium-1": "Syn-Medium, 1 query token (Fig. 6)",
    "syn-medium-3": "Syn-Medium, 3 query tokens (Fig. 6)",
    "syn-medium-5": "Syn-Medium, 5 query tokens (Fig. 6)",
    "syn-medium-10": "Syn-Medium, 10 query tokens (Fig. 6)",
    "fig3": "Fig. 3 setting (K = 10, M = 1002)",
    "large": "Large (K = 100, M = 10,002)",
}
DEFAULT_PRESET = "syn-small"
#: learning-rate choices: a 1-2-3-5 log grid that contains every rate the paper uses
RATES = tuple(float(f"{m}e{e}") for e in range(-3, 3) for m in (1, 2, 3, 5)) + (1000.0,)
BATCHES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
URL_PAGE = "live_lab"  # this page's name in scansnap_app.url_state


# --------------------------------------------------------------------------- state
def control_values(cfg: RunConfig, preset_name: str) -> dict:
    """The controls' session-state values that show ``cfg`` (with the preset it started from)."""
    return {"preset": preset_name, **cfg.flat(), "edit_weights": cfg.data.distinct_weights is not None}


def apply(cfg: RunConfig, preset_name: str) -> None:
    """Put a configuration into the controls (before the widgets are drawn, or in a callback)."""
    st.session_state.update(control_values(cfg, preset_name))


def read_url(params: dict[str, str]) -> tuple[dict, list[str]]:
    """url_state reader: the controls' values for the URL's configuration, and the notices."""
    name, cfg, notices = config_from_url(params)
    return control_values(cfg, name), notices


def config_from_url(params: dict[str, str]) -> tuple[str, RunConfig, list[str]]:
    """(preset name, configuration, notices) from URL parameters.  The URL is read as one configuration,
    so every valid configuration comes back exactly (its fields may only fit together).  Otherwise each
    value that does not fit on its own is ignored with a notice naming field, value and range, and the
    rest are applied together, or not at all if they do not fit together (a notice says why)."""
    params = dict(params)
    notices = []
    name = params.pop("preset", DEFAULT_PRESET)
    if name not in PRESETS:
        notices.append(f"preset = {name!r} is not a preset (allowed: {', '.join(PRESETS)}); using {DEFAULT_PRESET}")
        name = DEFAULT_PRESET
    base = preset(name)
    try:
        return name, RunConfig.from_query_params(params, base=base), notices
    except ConfigError:
        pass
    current, fitting = base.flat(), {}
    for field, text in params.items():
        try:
            if field not in current:
                raise ConfigError(field, text, "a configuration field")
            fitting[field] = FIELDS.check(field, parse_field(field, text, current[field]))
        except ConfigError as err:
            notices.append(f"{err} — using {current[field]!r} instead" if field in current else f"{err} — ignored")
    try:
        return name, base.replace(**fitting), notices
    except ConfigError as err:  # fine one by one, not together (e.g. the vocabulary they make is over the cap)
        shown = ", ".join(f"{k} = {params[k]!r}" for k in fitting)
        notices.append(f"{shown} do not fit together: {err} — using the {name} preset's values instead")
        return name, base, notices


def _on_preset() -> None:
    name = st.session_state["preset"]
    # the device is where this server trains, not part of the experiment: a preset keeps the one chosen
    apply(preset(name, device=st.session_state.get("device", "auto")), name)


def _on_upload() -> None:
    """Apply an uploaded config file to every control (a callback: runs before the widgets)."""
    ss = st.session_state
    upload = ss.get("upload")
    ss["_upload_error"] = None
    if upload is None:
        return
    try:
        cfg = RunConfig.from_json(upload.getvalue())
    except ConfigError as err:
        ss["_upload_error"] = f"{upload.name}: {err}"
        return
    name = next((n for n in PRESETS if preset(n).data == cfg.data), ss["preset"])  # the matching layout's preset
    apply(cfg, name)


def current_config() -> RunConfig:
    """The configuration the controls show (raises ConfigError for an invalid combination)."""
    ss = st.session_state
    values = {name: ss[name] for name in RunConfig().flat() if name in ss}
    if not ss.get("edit_weights"):
        values["distinct_weights"] = None
    return preset(ss["preset"]).replace(**values)


def url_params(cfg: RunConfig, preset_name: str) -> dict[str, str]:
    """The Live Lab's URL parameters for ``cfg``: the preset and the fields that differ from it."""
    return {"preset": preset_name, **cfg.to_query_params(base=preset(preset_name))}


def live_lab_link(cfg: RunConfig, preset_name: str) -> str:
    """A relative link that opens ``cfg`` in the Live Lab (a new session restores it from the URL)."""
    return "./?" + urllib.parse.urlencode(url_params(cfg, preset_name))


def sync_url(cfg: RunConfig, has_run: bool, extra: dict[str, str] | None = None) -> None:
    """Write the preset and the fields that differ from it into the URL (and the run mark, see url_state),
    with the page's ``extra`` parameters."""
    url_state.write({**url_params(cfg, st.session_state["preset"]), **(extra or {})}, has_run)


# --------------------------------------------------------------------------- widgets
def _rate_options(value: float) -> list[float]:
    return sorted(set(RATES) | {float(value)})


def _number(name: str, step=None, fmt=None) -> None:
    """A number input with the field's label, help and range from its field table, so a cap raised by
    an environment variable (e.g. SCANSNAP_MAX_STEPS) reaches the widget and the URL."""
    lo, hi = field_bounds(name)
    st.number_input(FIELD_LABELS[name], min_value=lo, max_value=hi, step=step, format=fmt, **KEEP, key=name,
                    help=FIELD_HELP[name])


def sidebar() -> tuple[RunConfig | None, str | None]:
    """Draw the grouped controls; return (config, None) or (None, error message)."""
    url_state.restore(URL_PAGE, read_url)
    ss = st.session_state
    sb = st.sidebar
    sb.selectbox("Preset", list(PRESETS), format_func=PRESET_LABELS.get, **KEEP, key="preset", on_change=_on_preset,
                 help="Choosing a preset fills every control with the paper's setting")
    sb.file_uploader("Load a config JSON", type=["json"], key="upload", on_change=_on_upload, max_upload_size=2,
                     help="A config.json written by this app or `python -m scansnap_core run`")
    if ss.get("_upload_error"):
        sb.error(plain(ss["_upload_error"]))

    with sb.expander("Vocabulary", expanded=True):
        _number("num_query")
        _number("next_per_query")
        _number("distinct_per_class")
        _number("common_global")
        _number("common_per_query")
        try:
            M = current_config().vocab_size
            st.caption(f"Vocabulary size **M = {M:,}**, classes **K = {ss['num_query'] * ss['next_per_query']}**")
        except ConfigError:
            pass

    with sb.expander("Conditional probabilities P(l|n)", expanded=False):
        _number("distinct_min", fmt="%g")
        _number("distinct_max", fmt="%g")
        _number("common_weight", fmt="%g")
        st.toggle("Edit distinct weights per class", **KEEP, key="edit_weights",
                  help="Full control: one row of unnormalised distinct-token weights per class")
        if ss.get("edit_weights"):
            _weights_editor()
        _preview()

    with sb.expander("Learning rates", expanded=True):
        for name in ("eta_y", "eta_z"):
            st.select_slider(FIELD_LABELS[name], options=_rate_options(ss[name]), **KEEP, key=name,
                             help=FIELD_HELP[name] + " (log scale); applies live while training")
        ratio = ss["eta_y"] / ss["eta_z"] if ss["eta_z"] else float("inf")
        st.caption(f"η_Y / η_Z = **{ratio:g}**")
        if ss.get("rate_changes"):
            st.caption("Learning-rate changes during the run (from the URL or the loaded config; the rates "
                       "above are its first): " + describe_rate_changes(ss["rate_changes"]) + ".")
            st.button("Clear the changes", key="clear_rate_changes", on_click=ss.update,
                      kwargs={"rate_changes": ()}, help="Train with the rates above for the whole run")

    with sb.expander("Training", expanded=False):
        st.radio(FIELD_LABELS["optimizer"], FIELD_CHOICES["optimizer"], **KEEP, key="optimizer", horizontal=True,
                 help=FIELD_HELP["optimizer"])
        if ss["optimizer"] == "sgd":
            _number("momentum", step=0.1, fmt="%g")
        st.radio(FIELD_LABELS["mode"], FIELD_CHOICES["mode"], **KEEP, key="mode", horizontal=True,
                 help=FIELD_HELP["mode"], format_func={"sgd": "sampled SGD", "expected": "expected (T→∞)"}.get)
        if ss["mode"] == "sgd":
            st.select_slider(FIELD_LABELS["batch_size"], options=sorted(set(BATCHES) | {ss["batch_size"]}),
                             **KEEP, key="batch_size", help=FIELD_HELP["batch_size"])
            _number("seq_len")
        _number("steps", step=50)
        _number("seed")
        _number("record_every")
        if ss.get("device", "auto") != "auto" or resolve_device("auto").type == "cuda":  # a choice only with a GPU
            st.radio(FIELD_LABELS["device"], FIELD_CHOICES["device"], **KEEP, key="device", horizontal=True,
                     help=FIELD_HELP["device"])
            st.caption(describe_devices())

    with sb.expander("Model", expanded=False):
        st.radio(FIELD_LABELS["init"], FIELD_CHOICES["init"], **KEEP, key="init", horizontal=True,
                 help=FIELD_HELP["init"])
        if ss["init"] == "default":
            _number("init_scale", step=0.5, fmt="%g")
        st.toggle(FIELD_LABELS["normalize"], **KEEP, key="normalize", help=FIELD_HELP["normalize"])
        st.toggle(FIELD_LABELS["residual"], **KEEP, key="residual", help=FIELD_HELP["residual"])

    try:
        cfg = current_config()
        mem = estimate_memory_bytes(cfg, max_records=sessions.MAX_RECORDS)
        sb.caption(f"Estimated training memory for this run: {mem / 2**20:,.0f} MB (measured peaks are 67–100 % of "
                   f"such estimates; server limit {LIMITS.max_run_memory_mb:,} MB a run)")
        check_memory(cfg, max_records=sessions.MAX_RECORDS)
        resolve_device(cfg.train.device)
    except ConfigError as err:
        return None, str(err)
    sb.caption(f"Server limits: {LIMITS.describe()}; at most {sessions.REGISTRY.max_training} sessions train "
               f"at once, within {sessions.REGISTRY.max_memory / 2**20:,.0f} MB of training memory together.")
    return cfg, None


def describe_rate_changes(changes) -> str:
    """'from step 41: η_Y = 1, η_Z = 0.5; …' for a run's rate_changes."""
    return "; ".join(f"from step {int(step):,}: η_Y = {eta_y:g}, η_Z = {eta_z:g}" for step, eta_y, eta_z in changes)


def _weights_editor() -> None:
    ss = st.session_state
    k, d = ss["num_query"] * ss["next_per_query"], ss["distinct_per_class"]
    current = ss.get("distinct_weights")
    if current is None or len(current) != k or any(len(r) != d for r in current):
        try:
            ramp = current_config().replace(distinct_weights=None).data.distinct_ramp()
        except ConfigError:
            return
        current = tuple(tuple(ramp) for _ in range(k))
    frame = pd.DataFrame(np.array(current, dtype=float).reshape(k, d),
                         index=[f"class {n + 1}" for n in range(k)], columns=[f"d{j + 1}" for j in range(d)])
    edited = st.data_editor(frame, key="weights_editor", width="stretch")
    ss["distinct_weights"] = tuple(tuple(float(w) for w in row) for row in edited.to_numpy())


def _preview() -> None:
    """A small chart of P(l|n) for class 1 over its support."""
    try:
        layout = Layout(current_config().data)
    except ConfigError:
        return
    valid = layout.support_prob[0] > 0
    kinds = np.where(layout.support_distinct[0][valid], "distinct", "common")
    fig = go.Figure(go.Bar(y=layout.support_prob[0][valid],
                           marker_color=np.where(kinds == "common", COMMON_COLOR, DISTINCT_COLOR)))
    fig.update_layout(height=160, margin=dict(l=10, r=10, t=30, b=10), title="P(l | class 1)",
                      xaxis=dict(showticklabels=False), template="plotly_white")
    # the page's other charts already load plotly.js (live_chart); st.plotly_chart would load a second copy
    live_chart(fig, key="preview_p_l_given_n", filename="p-l-given-class-1", height=160)
