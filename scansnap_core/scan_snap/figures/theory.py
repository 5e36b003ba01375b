"""The Theory explorer's figures: closed-form curves of docs/THEORY.md §6 (Eqn 13, Eqn 129, Eqn 14,
Theorem 3 bounds) from plain parameters, vectorised over a time grid t.  The page validates the
numbers."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from .. import theory as _theory
from ...lab import figure_style as style
from ...lab.figure_style import SERIES, THEORY_COLOR, Mark, vertical_marks
from .tokens import COMMON_COLOR, DISTINCT_COLOR

__all__ = ["THEORY_POINTS", "theory_time_grid", "theory_h_gamma", "theory_B", "theory_growth", "theory_eta_y_sweep",
           "theory_eta_z_sweep"]

#: points per curve; the curves are smooth, so a few hundred are plenty
THEORY_POINTS = 400
#: a log time axis starts at this fraction of t_max (log 0 is undefined)
LOG_T_START = 1e-3
_T_AXIS = dict(title=dict(text="t (batch-size-1 SGD steps)"))


def theory_time_grid(t_max: float, log_axis: bool = False, points: int = THEORY_POINTS) -> np.ndarray:
    """Time grid for the theory curves: 0..t_max evenly, or log-spaced from LOG_T_START·t_max (log axis)."""
    if log_axis:
        return np.geomspace(LOG_T_START * t_max, t_max, points)
    return np.linspace(0.0, t_max, points)


def _x_axis(log_axis: bool, **extra) -> dict:
    return {**_T_AXIS, "type": "log" if log_axis else "linear", **extra}


def _time_marks(marks: list[Mark], t: np.ndarray, log_axis: bool, xref: str = "x",
                panel_width: float = 1.0) -> tuple[list[dict], list[dict]]:
    """:func:`~.style.vertical_marks` over the time grid ``t``: close marks (t0′ near t0) get labels in
    different rows."""
    return vertical_marks(marks, xref, log_axis, x_range=(float(t[0]), float(t[-1])), panel_width=panel_width)


def _phase_times(K: int, M: float, eta_y: float, t: np.ndarray) -> list[Mark]:
    """t0′ (end of scanning) and t0 (start of snapping) marks inside the grid's range (§6, Eqn 14)."""
    lo, hi = float(t[0]), float(t[-1])
    marks = [Mark(_theory.t0_prime(K, M, eta_y), "t0′", "dot", THEORY_COLOR),
             Mark(_theory.t0(K, M, eta_y), "t0", "dash", THEORY_COLOR)]
    return [m for m in marks if lo <= m.x <= hi]


def theory_h_gamma(K: int, M: float, eta_y: float, t: np.ndarray, log_axis: bool = False) -> go.Figure:
    """h(t/K) of Lemma 6 (Eqn 45) and the speed-control coefficient γ(t) of Theorem 1 (§6 recipe) in two
    panels, t0′ and t0 marked.  γ rises like η_Y t/K while scanning and decays like K ln(η_Y t/K)/(η_Y t)
    after snapping."""
    t = np.asarray(t, dtype=float)
    hv, gv = _theory.h(t / K, M, eta_y), _theory.gamma(t, K, M, eta_y)
    traces = [style.line(t, hv, "h(t/K)", SERIES[0], xaxis="x", yaxis="y",
                         hovertemplate="t = %{x:.4g}<br>h = %{y:.4g}<extra></extra>"),
              style.line(t, gv, "γ(t)", SERIES[2], xaxis="x2", yaxis="y2",
                         hovertemplate="t = %{x:.4g}<br>γ = %{y:.4g}<extra></extra>")]
    marks = _phase_times(K, M, eta_y, t)
    shapes, notes = _time_marks(marks, t, log_axis, "x", panel_width=0.45)
    shapes2, notes2 = _time_marks(marks, t, log_axis, "x2", panel_width=0.45)
    titles = [dict(text=s, x=c, y=1.0, xref="paper", yref="paper", showarrow=False, yanchor="bottom",
                   font=dict(size=14)) for s, c in (("h(t/K) (Lemma 6, Eqn 45)", 0.22), ("γ(t) (Theorem 1)", 0.78))]
    return style.figure(traces, dict(
        title=style.title("Decoder side: h and γ", f"K = {K:g}, M = {M:g}, η_Y = {eta_y:g}"),
        xaxis=_x_axis(log_axis, domain=[0, 0.45], anchor="y"), yaxis=dict(anchor="x", title=dict(text="h")),
        xaxis2=_x_axis(log_axis, domain=[0.55, 1], anchor="y2"), yaxis2=dict(anchor="x2", title=dict(text="γ")),
        shapes=shapes + shapes2, annotations=titles + notes + notes2, showlegend=False))


def theory_B(K: int, M: float, eta_y: float, eta_z: float, C0: float, t: np.ndarray,
             log_axis: bool = False) -> go.Figure:
    """B_n(t): the exact integral ¼ ln(1 + 4Γ/C0) and the paper's Eqn 129 ¼ ln(C0 + 4Γ) (they differ by
    ¼ ln C0, §9 item 2), beside the two branches of Eqn 14 (Theorem 4), each drawn only where it holds:
    the early branch for t < t0′, the late one for t ≥ t0.  Neither covers (t0′, t0)."""
    t = np.asarray(t, dtype=float)
    tp, ts = _theory.t0_prime(K, M, eta_y), _theory.t0(K, M, eta_y)
    early_t = t[t < tp]
    late_t = np.r_[ts, t[t > ts]] if ts <= t[-1] else t[:0]  # start exactly at t0
    hover = "t = %{x:.4g}<br>B = %{y:.4f}<extra>%{fullData.name}</extra>"
    traces = [
        style.line(t, _theory.B_exact(t, K, M, eta_y, eta_z, C0), "Eqn 129, exact: ¼ ln(1 + 4Γ/C0)", "#000",
                   width=2.5, hovertemplate=hover),
        style.line(t, _theory.B_paper(t, K, M, eta_y, eta_z, C0), "Eqn 129, paper form: ¼ ln(C0 + 4Γ)", "#777",
                   "dash", hovertemplate=hover),
        style.line(early_t, _theory.B_early(early_t, K, M, eta_y, eta_z, C0), "Eqn 14, scanning branch (t < t0′)",
                   SERIES[0], "dot", width=3, hovertemplate=hover),
        style.line(late_t, _theory.B_late(late_t, K, M, eta_y, eta_z, C0), "Eqn 14, snapping branch (t ≥ t0)",
                   SERIES[1], "dot", width=3, hovertemplate=hover),
    ]
    shapes, notes = _time_marks(_phase_times(K, M, eta_y, t), t, log_axis)
    return style.figure(traces, dict(
        title=style.title("B_n(t)", f"K = {K:g}, M = {M:g}, η_Y = {eta_y:g}, η_Z = {eta_z:g}, C0 = {C0:g}"),
        xaxis=_x_axis(log_axis), yaxis=dict(title=dict(text="B_n(t)")), shapes=shapes, annotations=notes,
        legend=dict(x=0.99, y=0.03, xanchor="right", yanchor="bottom", bgcolor="rgba(255,255,255,0.8)")))


def theory_growth(K: int, M: float, eta_y: float, eta_z: float, C0: float, f0_squared: float, t: np.ndarray,
                  log_axis: bool = False, measured: tuple | None = None) -> go.Figure:
    """Left: the Theorem 3 bounds on the dominant distinct token's growth factor, e^{2f²(0)B} ≤ χ ≤ e^{2B}
    (B exact, so χ(0) = 1), log y axis.  Right: the common token's logit z_ml(t) solving Eqn 13,
    e^{−4z} = 1 + 4Γ/C0.  ``measured``: optional (steps, χ, label) drawn over the bounds."""
    t = np.asarray(t, dtype=float)
    lower, upper = _theory.chi_bounds(_theory.B_exact(t, K, M, eta_y, eta_z, C0), f0_squared)
    traces = [
        style.line(t, upper, "χ upper bound exp(2B)", DISTINCT_COLOR, "dash", xaxis="x", yaxis="y",
                   hovertemplate="t = %{x:.4g}<br>exp(2B) = %{y:.4g}<extra></extra>"),
        style.line(t, lower, f"χ lower bound exp(2f²(0)·B), f²(0) = {f0_squared:g}", DISTINCT_COLOR, "dot",
                   xaxis="x", yaxis="y", fill="tonexty", fillcolor="rgba(0,114,178,0.10)",
                   hovertemplate="t = %{x:.4g}<br>exp(2f²(0)·B) = %{y:.4g}<extra></extra>"),
        style.line(t, _theory.common_logit(t, K, M, eta_y, eta_z, C0), "common-token logit z_ml (Eqn 13)",
                   COMMON_COLOR, xaxis="x2", yaxis="y2", hovertemplate="t = %{x:.4g}<br>z = %{y:.4f}<extra></extra>"),
    ]
    if measured is not None:
        steps, chi, label = measured
        traces.append(dict(type="scatter", x=style.f32(steps), y=style.f32(chi), mode="lines+markers", name=label,
                           marker=dict(size=4), line=dict(color="#000", width=2), xaxis="x", yaxis="y"))
    marks = _phase_times(K, M, eta_y, t)
    shapes, notes = _time_marks(marks, t, log_axis, "x", panel_width=0.45)
    shapes2, notes2 = _time_marks(marks, t, log_axis, "x2", panel_width=0.45)
    return style.figure(traces, dict(
        title=style.title("Growth factor χ and the common token's logit",
                          "χ of the dominant distinct token (Theorem 3); the common token from Eqn 13"),
        xaxis=_x_axis(log_axis, domain=[0, 0.45], anchor="y"),
        yaxis=dict(anchor="x", type="log", title=dict(text="χ(t) (log axis)")),
        xaxis2=_x_axis(log_axis, domain=[0.55, 1], anchor="y2"), yaxis2=dict(anchor="x2", title=dict(text="z_ml")),
        shapes=shapes + shapes2, annotations=notes + notes2, legend=dict(orientation="h", y=-0.2, x=0)))


def theory_eta_y_sweep(K: int, M: float, eta_z: float, eta_ys: Sequence[float], C0: float, t: np.ndarray,
                       log_axis: bool = False, quantity: str = "chi") -> go.Figure:
    """The paper's Fig. 3 view: χ = e^{2B_n} (``quantity="chi"``) or B_n (``"B"``) for several η_Y at a
    fixed η_Z, B_n from Eqn 129 (exact form), a dotted t0 per η_Y in the curve's colour.  Larger η_Y
    snaps earlier; early on it is larger, later smaller, so the curves cross (§6 consequences)."""
    t = np.asarray(t, dtype=float)
    traces, marks = [], []
    for i, eta_y in enumerate(eta_ys):  # a handful of rates; each curve is vectorised over t
        color = SERIES[i % len(SERIES)]
        B = _theory.B_exact(t, K, M, eta_y, eta_z, C0)
        traces.append(style.line(t, np.exp(2 * B) if quantity == "chi" else B, f"η_Y = {eta_y:g}", color,
                                 hovertemplate=f"η_Y = {eta_y:g}<br>t = %{{x:.4g}}<br>%{{y:.4g}}<extra></extra>"))
        ts = _theory.t0(K, M, eta_y)
        if t[0] <= ts <= t[-1]:
            marks.append(Mark(ts, "", "dot", color))
    shapes, notes = _time_marks(marks, t, log_axis)
    label = "χ(t) = exp(2Bₙ(t))" if quantity == "chi" else "Bₙ(t)"
    return style.figure(traces, dict(
        title=style.title(f"Fig. 3 view: {label} for several η_Y",
                          f"K = {K:g}, M = {M:g}, η_Z = {eta_z:g}, C0 = {C0:g}; dotted: t0 per η_Y"),
        xaxis=_x_axis(log_axis), yaxis=dict(title=dict(text=label)), shapes=shapes, annotations=notes))


def theory_eta_z_sweep(K: int, M: float, nu: float, eta_zs: Sequence[float], C0: float, t: np.ndarray,
                       log_axis: bool = False) -> go.Figure:
    """The paper's Fig. 9 view: B_n(t) of Eqn 129 (paper form) for several η_Z at a fixed ν = η_Y/η_Z, a
    dot at each curve's t0.  B_n(t0) depends only on K, M, ν, so the dots share one height; larger
    rates reach it sooner and end higher (sparser attention, §6 consequence (b))."""
    t = np.asarray(t, dtype=float)
    traces = []
    for i, eta_z in enumerate(eta_zs):  # a handful of rates; each curve is vectorised over t
        color, eta_y = SERIES[i % len(SERIES)], nu * eta_z
        traces.append(style.line(t, _theory.B_paper(t, K, M, eta_y, eta_z, C0), f"η_Z = {eta_z:g}", color,
                                 hovertemplate=f"η_Z = {eta_z:g}<br>t = %{{x:.4g}}<br>B = %{{y:.4f}}<extra></extra>"))
        ts = _theory.t0(K, M, eta_y)
        if t[0] <= ts <= t[-1]:
            at_t0 = _theory.B_paper(ts, K, M, eta_y, eta_z, C0)
            traces.append(dict(type="scatter", x=style.f32([ts]), y=style.f32(at_t0),
                               mode="markers", marker=dict(color=color, size=10), showlegend=False,
                               name=f"t0, η_Z = {eta_z:g}",
                               hovertemplate="t0 = %{x:.4g}<br>B = %{y:.4f}<extra>%{fullData.name}</extra>"))
    return style.figure(traces, dict(
        title=style.title(f"Fig. 9 view: B_n(t) for several η_Z at ν = {nu:g}",
                          f"ν = η_Y/η_Z; K = {K:g}, M = {M:g}, C0 = {C0:g}; dots: t0"),
        xaxis=_x_axis(log_axis), yaxis=dict(title=dict(text="B_n(t)"))))
