"""Theory explorer: the closed-form curves of docs/THEORY.md §6 (Eqn 13, Eqn 129, Eqn 14, Theorem 3 bounds).

Thin page: sidebar widgets -> validated numbers -> scansnap_core.scan_snap.theory / figure builders -> live charts.
The settings live in the URL (scansnap_app.url_state, as on the Live Lab), so a pasted URL restores the view.
"""

from __future__ import annotations

import math

import streamlit as st

from scansnap_app import entry, url_state
from scansnap_app.live_chart import live_chart
from scansnap_app.plain import plain
from scansnap_app.sessions import REGISTRY
from scansnap_app.url_state import KEEP
from scansnap_core.lab.fields import to_text
from scansnap_core.scan_snap import figures, theory
from scansnap_core.scan_snap.results import GrowthFactor

entry.through_app()

ss = st.session_state

#: preset name -> (label, values of the inputs); Fig. 9's η_Z set {1, 2, 4, 8} is inferred from its axis ranges
PRESETS = {
    "fig3": ("Fig. 3 setting", dict(th_K=10, th_M=1000, th_eta_y=1.0, th_eta_z=0.5, th_C0=1.0, th_t_max=700.0,
                                    th_log=False, th_vary="eta_y", th_rates="0.5, 1, 2, 5", th_quantity="chi")),
    "fig9-left": ("Fig. 9 left", dict(th_K=1, th_M=100, th_eta_y=10.0, th_eta_z=1.0, th_C0=1.0, th_t_max=5.0,
                                      th_log=False, th_vary="eta_z", th_rates="1, 2, 4, 8", th_quantity="B")),
    "fig9-right": ("Fig. 9 right", dict(th_K=1, th_M=10_000, th_eta_y=1.0, th_eta_z=1.0, th_C0=1.0, th_t_max=50.0,
                                        th_log=False, th_vary="eta_z", th_rates="1, 2, 4, 8", th_quantity="B")),
    "custom": ("Custom", {}),
}
DEFAULT_PRESET = "fig3"
DEFAULTS = {**PRESETS[DEFAULT_PRESET][1], "th_f0": 0.3, "th_overlay": False}
MAX_RATES = 8
URL_PAGE = "theory"  # this page's name in scansnap_app.url_state
#: the text settings' allowed values
CHOICES = {"th_vary": ("eta_y", "eta_z"), "th_quantity": ("chi", "B")}

#: field -> (label, check, allowed range in words)
RULES = {
    "th_K": ("K (classes)", lambda v: v == int(v) and 1 <= v <= 10**6, "an integer, 1 ≤ K ≤ 1,000,000"),
    "th_M": ("M (vocabulary size)", lambda v: v == int(v) and 2 <= v <= 10**9, "an integer, 2 ≤ M ≤ 10⁹"),
    "th_eta_y": ("η_Y", lambda v: 0 < v <= 1e4, "0 < η_Y ≤ 10,000"),
    "th_eta_z": ("η_Z", lambda v: 0 < v <= 1e4, "0 < η_Z ≤ 10,000"),
    "th_C0": ("C0", lambda v: 0 < v <= 1e6, "0 < C0 ≤ 10⁶"),
    "th_t_max": ("t max", lambda v: 0 < v <= 1e9, "0 < t max ≤ 10⁹"),
    "th_f0": ("f²(0)", lambda v: 0 < v <= 1, "0 < f²(0) ≤ 1"),
}


def _on_preset() -> None:
    """Fill every input with the chosen preset's values (Custom leaves them as they are)."""
    ss.update(PRESETS[ss["th_preset"]][1])


def _to_custom() -> None:
    ss["th_preset"] = "custom"


def parse_rates(text: str) -> list[float]:
    """'0.5, 1, 2' -> [0.5, 1.0, 2.0]; ValueError with a readable reason otherwise."""
    parts = [p for p in str(text).replace(";", ",").split(",") if p.strip()]
    values = [float(p) for p in parts]  # ValueError names the bad piece
    if not 1 <= len(values) <= MAX_RATES or not all(0 < v <= 1e4 and math.isfinite(v) for v in values):
        raise ValueError("need 1 to 8 numbers, each 0 < η ≤ 10,000")
    return values


def check(key: str, value) -> float:
    """A number input's value as a float; ValueError naming the field, the value and the allowed range."""
    label, ok, allowed = RULES[key]
    try:
        good = value is not None and math.isfinite(float(value)) and ok(float(value))
    except (TypeError, ValueError):
        good = False
    if not good:
        raise ValueError(f"{label} = {value!r} is invalid: allowed {allowed}.")
    return float(value)


def check_rates(text) -> list[float]:
    try:
        return parse_rates(text)
    except ValueError as err:
        raise ValueError(f"Rates to compare = {text!r} is invalid: {err} (comma-separated, 1 to {MAX_RATES} numbers, "
                         "each 0 < η ≤ 10,000).") from None


def validate() -> tuple[dict, list[str]]:
    """The inputs as numbers, and an error message per invalid field (field, value, allowed range)."""
    values, errors = {}, []
    for key in [*RULES, "th_rates"]:
        try:
            values[key] = check_rates(ss.get(key, "")) if key == "th_rates" else check(key, ss.get(key))
        except ValueError as err:
            errors.append(str(err))
    return values, errors


def _from_text(key: str, text: str, default):
    """One URL value in the type of its setting (``default`` gives the type); ValueError if it does not fit."""
    if key not in DEFAULTS:
        raise ValueError(f"{key} is not a setting of this page (allowed: {', '.join(['th_preset', *DEFAULTS])})")
    if isinstance(default, bool):
        if text.lower() not in ("true", "false"):
            raise ValueError(f"{key} = {text!r} is invalid: allowed true or false")
        return text.lower() == "true"
    if key in CHOICES:
        if text not in CHOICES[key]:
            raise ValueError(f"{key} = {text!r} is invalid: allowed one of {', '.join(CHOICES[key])}")
        return text
    if key == "th_rates":
        check_rates(text)
        return text
    number = check(key, text)
    return int(number) if isinstance(default, int) else number


def read_url(params: dict[str, str]) -> tuple[dict, list[str]]:
    """url_state reader: the inputs for the URL's preset and values, and a notice per value ignored."""
    params, notices = dict(params), []
    name = params.pop("th_preset", DEFAULT_PRESET)
    name = next((key for key, (label, _) in PRESETS.items() if name == label), name)  # a label works too
    if name not in PRESETS:
        notices.append(f"th_preset = {name!r} is not a preset (allowed: {', '.join(PRESETS)}); using {DEFAULT_PRESET}")
        name = DEFAULT_PRESET
    values = {**DEFAULTS, **PRESETS[name][1], "th_preset": name}
    for key, text in params.items():
        try:
            values[key] = _from_text(key, text, values.get(key))
        except ValueError as err:
            notices.append(f"{err} — using {values[key]!r} instead" if key in values else str(err))
    return values, notices


def write_url() -> None:
    """The preset, and the inputs that differ from it, into the URL."""
    base = {**DEFAULTS, **PRESETS[ss["th_preset"]][1]}
    url_state.write({"th_preset": ss["th_preset"],
                     **{key: to_text(ss[key]) for key in DEFAULTS if key in ss and ss[key] != base[key]}})


def sidebar() -> None:
    url_state.restore(URL_PAGE, read_url)
    ss.setdefault("th_preset", DEFAULT_PRESET)
    sb = st.sidebar
    sb.selectbox("Preset", list(PRESETS), format_func=lambda p: PRESETS[p][0], **KEEP, key="th_preset",
                 on_change=_on_preset, help="Fills the inputs with one of the paper's settings")
    for key, value in {**DEFAULTS, **PRESETS[ss["th_preset"]][1]}.items():  # inputs Streamlit dropped off-page
        ss.setdefault(key, value)
    number = dict(on_change=_to_custom)
    sb.number_input("K (classes)", step=1, **KEEP, key="th_K", **number)
    sb.number_input("M (vocabulary size)", step=1, **KEEP, key="th_M", **number)
    sb.number_input("η_Y (decoder rate)", step=0.1, format="%g", **KEEP, key="th_eta_y", **number)
    sb.number_input("η_Z (attention rate)", step=0.1, format="%g", **KEEP, key="th_eta_z", **number)
    sb.number_input("C0 (= ρ0⁴/K, Eqn 13)", step=0.1, format="%g", **KEEP, key="th_C0", **number)
    sb.number_input("t max", step=10.0, format="%g", **KEEP, key="th_t_max", **number)
    sb.toggle("Log t axis", **KEEP, key="th_log")  # a view option: the inputs still match their preset
    sb.number_input("f²(0) of the dominant distinct token", step=0.05, format="%g", **KEEP, key="th_f0", **number,
                    help="Lower bound of Theorem 3: χ ≥ exp(2 f²(0) B)")
    sb.markdown("**Compare learning rates**")
    sb.radio("Vary", ["eta_y", "eta_z"], **KEEP, key="th_vary", **number,
             format_func={"eta_y": "η_Y at fixed η_Z (Fig. 3)", "eta_z": "η_Z at fixed ν = η_Y/η_Z (Fig. 9)"}.get)
    sb.text_input("Rates to compare (comma-separated)", **KEEP, key="th_rates", **number)
    sb.radio("Fig. 3 view shows", ["chi", "B"], **KEEP, key="th_quantity", horizontal=True, **number,
             format_func={"chi": "χ = exp(2B)", "B": "Bₙ"}.get)


def live_run():
    """This browser session's Live Lab run, if it has taken a step (None otherwise)."""
    session_id = ss.get("session_id")
    lab = REGISTRY.get(session_id) if session_id else None  # a read-only peek: never start a lab here
    if lab is None:
        return None
    snap = lab.runner.snapshot()
    return snap.data if snap.step > 0 and len(snap.data.records) > 1 else None


def _use_run(K: int, M: int, eta_y: float, eta_z: float, f0: float, steps: int) -> None:
    """The run's K, M, rates (as the theory reads them: 6 significant digits, no float noise), f²(0), and a t
    axis that follows the run instead of squashing it."""
    ss.update(th_K=K, th_M=M, th_eta_y=float(f"{eta_y:.6g}"), th_eta_z=float(f"{eta_z:.6g}"),
              th_f0=float(f"{f0:.6g}"), th_t_max=float(max(steps, 1)), th_preset="custom")


def overlay(K: int, M: int) -> tuple | None:
    """The measured curve for the χ chart when the Live Lab run matches the page's K and M (else a message)."""
    data = live_run()
    if data is None:
        st.info("No Live Lab run in this browser session yet (or it has not taken a step): start one on the "
                "Live Lab page, then come back to overlay its measured growth factor.")
        return None
    layout = data.layout
    growth = GrowthFactor.of(data, 0)
    if growth is None:
        st.info("The Live Lab run has no distinct tokens in class 1: there is no growth factor to overlay.")
        return None
    pred = theory.predictions_for(data.config)  # effective rates η/(1−μ) under SGD momentum (§6 "Units")
    steps, chi, f0, token = growth.steps, growth.chi, growth.f0_squared, growth.token
    if (layout.K, layout.M) != (K, M):
        st.warning(f"The Live Lab run has K = {layout.K}, M = {layout.M:,}, but this page shows K = {K}, "
                   f"M = {M:,}: the curves would not describe that run, so it is not overlaid.")
        st.button(f"Use the run's K = {layout.K}, M = {layout.M:,}, η_Y = {pred.eta_y:.4g}, η_Z = {pred.eta_z:.4g}"
                  f" and f²(0) = {f0:.4g}", key="th_use_run", on_click=_use_run,
                  args=(layout.K, layout.M, pred.eta_y, pred.eta_z, f0, int(data.config.train.steps)))
        if pred.momentum_corrected:
            mu = data.config.train.momentum
            st.caption(f"The rates are the run's effective ones under SGD momentum μ = {mu:g}: η/(1 − μ), e.g. "
                       f"η_Y = {data.config.train.eta_y:g}/(1 − {mu:g}) = {pred.eta_y:.4g}, which is what the "
                       "theory's times use for such a run (an approximation: the theory has no momentum).")
        return None
    rates = "effective rates under momentum, " if pred.momentum_corrected else ""
    st.caption(f"Overlaid: the Live Lab run's measured χ of token {token} (class 1's dominant distinct token) up to "
               f"step {int(steps[-1]):,}; the run's {rates}η_Y = {pred.eta_y:g}, η_Z = {pred.eta_z:g}, "
               f"f²(0) = {f0:.4g}. Theory time t ≈ optimizer steps.")
    note = theory.assumption_note(data.config)
    if note:  # the curves are SGD theory: say where the overlaid run leaves its setting
        st.caption(f":material/info: {note}")
    return steps, chi, f"measured χ (Live Lab, token {token})"


st.title("Theory explorer")
st.caption("The closed-form dynamics of Tian et al. (NeurIPS 2023), Sec. 6 and App. F: how fast attention "
           "can still move (B_n), and when it stops. Pick a paper figure on the left or set your own values.")
sidebar()
url_state.show_notices(URL_PAGE)
params, errors = validate()
for message in errors:
    st.error(plain(message))
if not errors:
    K, M = int(params["th_K"]), int(params["th_M"])
    eta_y, eta_z, C0 = params["th_eta_y"], params["th_eta_z"], params["th_C0"]
    t_max, log_axis, f0 = params["th_t_max"], bool(ss["th_log"]), params["th_f0"]
    t = figures.theory_time_grid(t_max, log_axis)
    tp, ts, ta = theory.t0_prime(K, M, eta_y), theory.t0(K, M, eta_y), theory.t0_approx(K, M, eta_y)
    cols = st.columns(4)
    cols[0].metric("t0′ (scanning ends)", f"{tp:,.4g}", help="t0′ = K ln M / η_Y: the end of the scanning phase")
    cols[1].metric("t0 (snapping from)", f"{ts:,.4g}", help="t0 = 2(1 + ω₁) K ln M / η_Y: the snapping regime "
                                                            "holds from here on")
    cols[2].metric("2K ln M / η_Y", f"{ta:,.4g}", help="The practical approximation of t0 (drops ω₁)")
    cols[3].metric("B_n(t0)", f"{float(theory.B_exact(ts, K, M, eta_y, eta_z, C0)):.4f}",
                   help="B_n at t0 from Eqn 129 in its exact form (B_n(0) = 0)")
    st.markdown(
        f"**Scanning** (t < t0′ = {tp:,.4g}): γ(t) grows linearly and B_n(t) grows like ln t, so the attention "
        "logits move fast and the growth factor χ grows polynomially. Low-probability distinct tokens are "
        "overtaken first and the common token's logit falls, as the steep early part of the curves shows.\n\n"
        f"**Snapping** (t ≥ t0 = {ts:,.4g}): γ(t) decays like ln t / t, so B_n(t) only grows like ln ln t and χ "
        "like ln t: the curves flatten. Attention still moves, but so slowly that the token combination it "
        "has reached looks frozen.")
    revision = f"{K}-{M}-{eta_y}-{eta_z}-{C0}-{t_max}-{log_axis}"  # reset zoom when the curves change
    chart = dict(uirevision=revision, height=430)
    live_chart(figures.theory_B(K, M, eta_y, eta_z, C0, t, log_axis), key="th_chart_B", filename="theory-B", **chart)
    measured = None
    if st.checkbox("Overlay this session's Live Lab run (measured growth factor)", **KEEP, key="th_overlay"):
        measured = overlay(K, M)
    live_chart(figures.theory_growth(K, M, eta_y, eta_z, C0, f0, t, log_axis, measured), key="th_chart_growth",
               filename="theory-growth", **chart)
    live_chart(figures.theory_h_gamma(K, M, eta_y, t, log_axis), key="th_chart_h_gamma", filename="theory-h-gamma",
               **chart)
    rates = params["th_rates"]
    if ss["th_vary"] == "eta_y":
        compare = figures.theory_eta_y_sweep(K, M, eta_z, rates, C0, t, log_axis, ss["th_quantity"])
    else:
        compare = figures.theory_eta_z_sweep(K, M, eta_y / eta_z, rates, C0, t, log_axis)
    live_chart(compare, key="th_chart_compare", filename="theory-compare", **chart)
    if ss["th_preset"] == "fig3" and ss["th_vary"] == "eta_y" and ss["th_quantity"] == "chi":
        reached = max(float(trace.y[-1]) for trace in compare.data if trace.y is not None and len(trace.y))
        st.caption(f":material/info: The paper's Fig. 3 shows χ reaching about 600; these closed-form curves, with "
                   f"C0 = {C0:g}, reach {reached:,.0f} at t = {t_max:,.0f}. The figure's remaining constants are not "
                   "stated, so the lab reads Fig. 3 as qualitative: the order of the curves and how they scale "
                   "with η_Y are what carry over (docs/THEORY.md §9 item 7).")
if not errors:
    write_url()  # after every input (the overlay checkbox is drawn with the charts)
