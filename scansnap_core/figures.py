"""Figure builders: pure functions from run data to plotly Figures.

No UI imports: the dashboard shows these figures, the CLI and the figure pack export them.
Colours are colour-blind safe: a perceptual sequential scale (viridis) for attention, a
diverging scale centred at 0 for logits, and the Okabe–Ito palette for categories.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from . import theory as _theory
from .compare import record_at
from .engine import Record
from .layout import Layout
from .results import GrowthFactor, RunData, attended_distinct
from .theory import B_exact, chi_bounds, predictions_for

__all__ = ["RunData", "attention_heatmap", "attention_history", "logit_trajectories", "decoder_panel",
           "theory_vs_experiment", "all_figures", "sweep_entropy", "sweep_heatmap", "theory_time_grid",
           "theory_h_gamma", "theory_B", "theory_growth", "theory_eta_y_sweep", "theory_eta_z_sweep",
           "attention_difference", "DIFF_SCALE", "COMMON_COLOR", "MAX_HEATMAP_CLASSES"]

#: Okabe–Ito vermillion for common tokens, blue for distinct ones (colour-blind safe pair)
COMMON_COLOR = "#D55E00"
DISTINCT_COLOR = "#0072B2"
#: Okabe–Ito bluish green for the measured events (scan peak, snap), apart from the grey theory marks
EVENT_COLOR = "#009E73"
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
#: the live heatmap shows at most this many classes (a K = 100 layout would be 10⁶ cells)
MAX_HEATMAP_CLASSES = 20
#: at most this many logit trajectories are drawn (evenly spread over P(l|n))
MAX_TRAJECTORIES = 60
#: distinct-token trajectories are drawn in this many shades of blue (darker = larger P(l|n))
DISTINCT_SHADES = 5

_LAYOUT = dict(font=dict(size=14), margin=dict(l=60, r=20, t=60, b=50))
_TEMPLATE = pio.templates["plotly_white"].to_plotly_json()
VIRIDIS = [[0.0, "#440154"], [0.25, "#3b528b"], [0.5, "#21918c"], [0.75, "#5ec962"], [1.0, "#fde725"]]
#: validate figure specs on construction (slow; the tests switch it on)
VALIDATE = False
#: the loss panel shows at most this many points (bin means beyond it)
MAX_LOSS_POINTS = 2000


def _f32(values) -> np.ndarray:
    """float32 for the browser: plotly ships numpy arrays as base64, half the bytes of float64."""
    return np.asarray(values, dtype=np.float32)


def _binned(values: np.ndarray, max_points: int = MAX_LOSS_POINTS) -> tuple[np.ndarray, np.ndarray, int]:
    """(step, mean value, bin width): means over equal bins of steps 1..len(values), so a long
    run's per-step series stays a few thousand points."""
    width = max(1, -(-len(values) // max_points))
    n = len(values) // width * width
    means = values[:n].reshape(-1, width).mean(axis=1)
    steps = np.arange(n // width) * width + (width + 1) / 2
    if n < len(values):
        means = np.r_[means, values[n:].mean()]
        steps = np.r_[steps, (n + 1 + len(values)) / 2]
    return steps, means, width


def _support_columns(layout: Layout, classes: Sequence[int]):
    """Column order for token heatmaps: common tokens, then each class's distinct tokens by P(l|n).
    Returns (token ids, group label per column)."""
    common = [int(t) for t in np.flatnonzero(layout.token_kind == "common") if layout.omega[t] > 0]
    tokens, groups = list(common), ["common"] * len(common)
    for n in classes:
        d = layout.support[n][layout.support_distinct[n]]  # already ordered by increasing P(l|n)
        tokens += [int(t) for t in d]
        groups += [f"class {n + 1}"] * len(d)
    return np.array(tokens, dtype=int), groups


def _token_matrix(layout: Layout, values: np.ndarray, classes: Sequence[int], tokens: np.ndarray) -> np.ndarray:
    """Scatter per-support values [K, S] into a classes × tokens matrix (NaN off-support)."""
    col = {t: i for i, t in enumerate(tokens)}
    out = np.full((len(classes), len(tokens)), np.nan, dtype=np.float32)
    for row, n in enumerate(classes):  # K ≤ MAX_HEATMAP_CLASSES rows: a display-time loop
        valid = layout.support_prob[n] > 0
        cols = [col.get(int(t), -1) for t in layout.support[n][valid]]
        keep = np.array(cols) >= 0
        out[row, np.array(cols)[keep]] = values[n][valid][keep]
    return out


def _figure(traces: list[dict], layout: dict) -> go.Figure:
    """One Figure from plain trace and layout dicts.  Validation is off (it costs ~50–150 ms per
    figure, too slow for several live refreshes a second); the tests build every figure with
    ``VALIDATE = True`` to keep the specs honest."""
    full = {**_LAYOUT, "template": _TEMPLATE, **layout}
    return go.Figure(data=traces, layout=full, _validate=VALIDATE)


def _group_axis(groups: list[str]) -> tuple[dict, list[dict]]:
    """x-axis ticks labelling column groups (common | class 1 | …) at their centres, and white
    separator lines between the groups."""
    edges = [0] + [i for i in range(1, len(groups)) if groups[i] != groups[i - 1]] + [len(groups)]
    centres = [(a + b - 1) / 2 for a, b in zip(edges[:-1], edges[1:])]
    axis = dict(tickmode="array", tickvals=centres, ticktext=[groups[e] for e in edges[:-1]], showgrid=False)
    lines = [dict(type="line", xref="x", yref="paper", x0=e - 0.5, x1=e - 0.5, y0=0, y1=1,
                  line=dict(color="white", width=2)) for e in edges[1:-1]]
    return axis, lines


def attention_heatmap(data: RunData, record: Record | None = None) -> go.Figure:
    """c_n (Eqn 5) of every class over the contextual tokens, columns grouped common |
    distinct of class 1 | class 2 …, each group ordered by P(l|n)."""
    record = record or data.latest
    layout = data.layout
    classes = list(range(min(layout.K, MAX_HEATMAP_CLASSES)))
    tokens, groups = _support_columns(layout, classes)
    z = _token_matrix(layout, record.attention[data.run], classes, tokens)
    prob = _token_matrix(layout, layout.support_prob, classes, tokens)
    axis, lines = _group_axis(groups)
    more = f" (first {len(classes)} of {layout.K} classes)" if layout.K > len(classes) else ""
    heat = dict(type="heatmap", z=z, y=[f"class {n + 1}" for n in classes], colorscale=VIRIDIS, zmin=0,
                colorbar=dict(title=dict(text="c_n")),
                customdata=np.stack([np.broadcast_to(tokens, z.shape).astype(np.float32), prob], -1),
                hovertemplate="%{y}, token %{customdata[0]}<br>P(l|n) = %{customdata[1]:.4f}<br>"
                              "c = %{z:.4f}<extra></extra>")
    return _figure([heat], dict(title=dict(text=f"Attention c_n at step {record.step}{more}"), xaxis=axis,
                                yaxis=dict(autorange="reversed"), shapes=lines))


def attention_history(data: RunData, cls: int = 0) -> go.Figure:
    """The paper's Fig. 4 view: c_n of one class over its support (columns, common first, then
    distinct by increasing P(l|n)) at every recorded step (rows)."""
    layout = data.layout
    valid = layout.support_prob[cls] > 0
    tokens = layout.support[cls][valid]
    z = _f32([r.attention[data.run][cls][valid] for r in data.records])
    kinds = np.where(layout.support_distinct[cls][valid], "distinct", "common")
    axis, lines = _group_axis(list(kinds))
    # token ids as numbers (base64 in the page): a string per cell made this view the slowest to draw
    heat = dict(type="heatmap", z=z, y=np.asarray(data.steps, dtype=np.int32), colorscale=VIRIDIS, zmin=0,
                colorbar=dict(title=dict(text="c_n")),
                customdata=np.broadcast_to(tokens.astype(np.int32), z.shape),
                hovertemplate="step %{y}, token %{customdata}<br>c = %{z:.4f}<extra></extra>")
    return _figure([heat], dict(title=dict(text=f"Attention history of class {cls + 1} (rows: steps)"),
                                xaxis=axis, yaxis=dict(autorange="reversed", title=dict(text="step")),
                                shapes=lines))


def _phase_marks(data: RunData, x_max: float, xref: str = "x") -> tuple[list[dict], list[dict]]:
    """Shapes and labels: the SGD theory's scanning (t < t0′) and snapping (t ≥ t0) regimes shaded,
    dotted t0′ and dashed t0, and the measured events (docs/THEORY.md): dash-dot scan peak, solid snap."""
    pred = predictions_for(data.config)
    shapes, notes = [], []
    band = dict(type="rect", xref=xref, yref="paper", y0=0, y1=1, line=dict(width=0), layer="below", opacity=0.06)
    if pred.t0_prime > 0:
        shapes.append({**band, "x0": 0, "x1": min(pred.t0_prime, x_max), "fillcolor": DISTINCT_COLOR})
    if pred.t0 < x_max:
        shapes.append({**band, "x0": pred.t0, "x1": x_max, "fillcolor": COMMON_COLOR})
    close = pred.t0 - pred.t0_prime < 0.06 * x_max  # labels would overlap: one label for both lines
    marks = [(pred.t0_prime, "" if close else "SGD t0′", "dot", 1.0, "right", "#333"),
             (pred.t0, "SGD t0′, t0" if close else "SGD t0", "dash", 1.0, "left", "#333")]
    if data.scan_peak_step is not None:
        marks.append((data.scan_peak_step, "scan peak", "dashdot", 0.02, "right", EVENT_COLOR))
    if data.snap_step is not None:
        marks.append((data.snap_step, "snap", "solid", 0.02, "left", EVENT_COLOR))
    for x, label, dash, y, side, color in marks:
        if x <= x_max:
            shapes.append(dict(type="line", xref=xref, yref="paper", x0=x, x1=x, y0=0, y1=1,
                               line=dict(color=color, width=1.5, dash=dash)))
            if label:
                notes.append(dict(text=label, x=x, y=y, xref=xref, yref="paper", showarrow=False,
                                  xanchor="right" if side == "right" else "left",
                                  yanchor="top" if y > 0.5 else "bottom", font=dict(size=12, color=color)))
    return shapes, notes


def logit_trajectories(data: RunData, query: int = 0) -> go.Figure:
    """z_ml(t) for the tokens of one query row: common tokens in vermillion, distinct tokens in
    blue, darker for larger P(l|n); the SGD theory's phases and t0′ / t0 and the measured scan peak
    and snap marked."""
    layout = data.layout
    mask = (layout.psi == query)[:, None] & (layout.support_prob > 0)
    cls, slot = np.nonzero(mask)
    tokens = layout.support[cls, slot]
    _, first = np.unique(tokens, return_index=True)  # a token shared by classes is drawn once
    cls, slot, tokens = cls[first], slot[first], tokens[first]
    distinct = layout.support_distinct[cls, slot]
    prob = layout.support_prob[cls, slot]
    order_d = np.flatnonzero(distinct)[np.argsort(prob[distinct], kind="stable")]
    if len(order_d) > MAX_TRAJECTORIES:
        order_d = order_d[np.unique(np.linspace(0, len(order_d) - 1, MAX_TRAJECTORIES).round().astype(int))]
    shown = np.r_[np.flatnonzero(~distinct), order_d]
    steps = np.asarray(data.steps, dtype=np.int32)
    history = _f32([r.logits[data.run] for r in data.records])  # [records, K, S]
    # one trace per colour (NaN-separated segments): plotly's cost grows with the trace count,
    # and 60 single-token traces took ~200 ms per redraw in a headless browser
    pmax = prob[order_d].max() if len(order_d) else 1.0
    level = np.minimum(np.floor(prob / pmax * DISTINCT_SHADES).astype(int), DISTINCT_SHADES - 1)
    groups = [("common", COMMON_COLOR, np.flatnonzero(~distinct))]
    for lv in range(DISTINCT_SHADES - 1, -1, -1):
        members = order_d[level[order_d] == lv]
        groups.append(("distinct", _shade(DISTINCT_COLOR, 0.25 + 0.75 * (lv + 1) / DISTINCT_SHADES), members))
    traces, seen = [], set()
    gap = np.full(1, np.nan, dtype=np.float32)
    for kind, color, members in groups:
        if not len(members):
            continue
        x = np.concatenate([np.r_[steps, gap] for _ in members])
        y = np.concatenate([np.r_[history[:, cls[i], slot[i]], gap] for i in members])
        info = np.repeat(np.stack([tokens[members], cls[members] + 1, prob[members]], -1), len(steps) + 1, axis=0)
        traces.append(dict(type="scatter", x=x, y=y, customdata=_f32(info), mode="lines",
                           line=dict(color=color, width=1.6), name=f"{kind} tokens", legendgroup=kind,
                           showlegend=kind not in seen,
                           hovertemplate=f"token %{{customdata[0]}} ({kind}, class %{{customdata[1]}}, "
                                         "P=%{customdata[2]:.4f})<br>step %{x}: z = %{y:.4f}<extra></extra>"))
        seen.add(kind)
    shapes, notes = _phase_marks(data, float(max(steps[-1], 1)))
    n_distinct = int(distinct.sum())
    note = f" ({len(order_d)} of {n_distinct} distinct tokens)" if len(order_d) < n_distinct else ""
    return _figure(traces, dict(title=dict(text=f"Attention logits z_ml of query {query + 1}{note}"),
                                xaxis=dict(title=dict(text="step")), yaxis=dict(title=dict(text="z_ml")),
                                shapes=shapes, annotations=notes))


def _shade(hex_color: str, strength: float) -> str:
    """Blend a colour with white: strength 1 = the colour, 0 = white."""
    rgb = np.array([int(hex_color[i:i + 2], 16) for i in (1, 3, 5)])
    mixed = (255 - strength * (255 - rgb)).round().astype(int)
    return "#" + "".join(f"{v:02x}" for v in mixed)


def decoder_panel(data: RunData) -> go.Figure:
    """Decoder side: the correct-token logit o_n and probability α_n per class, and the
    training loss on a log axis (three panels)."""
    steps = data.steps
    logit = np.stack([r.correct_logit[data.run] for r in data.records])
    prob = np.stack([r.correct_prob[data.run] for r in data.records])
    K = data.layout.K
    traces = []
    for n in range(min(K, len(PALETTE))):
        line = dict(color=PALETTE[n])
        traces.append(dict(type="scatter", x=steps, y=logit[:, n], mode="lines", line=line, name=f"class {n + 1}",
                           legendgroup=str(n), xaxis="x", yaxis="y"))
        traces.append(dict(type="scatter", x=steps, y=prob[:, n], mode="lines", line=line, showlegend=False,
                           legendgroup=str(n), xaxis="x2", yaxis="y2"))
    if K > len(PALETTE):
        traces.append(dict(type="scatter", x=steps, y=prob.mean(axis=1), mode="lines",
                           line=dict(color="#000", dash="dash"), name=f"mean of {K} classes", xaxis="x2", yaxis="y2"))
    loss_steps, loss, width = _binned(np.asarray(data.losses, dtype=float))
    traces.append(dict(type="scatter", x=_f32(loss_steps), y=_f32(np.where(loss > 0, loss, np.nan)), mode="lines",
                       line=dict(color="#333"), name="loss" if width == 1 else f"loss (mean of {width} steps)",
                       xaxis="x3", yaxis="y3"))
    domains = ([0, 0.27], [0.365, 0.635], [0.73, 1])
    titles = ("correct-token logit o_n", "probability α_n", "training loss (log axis)")
    layout = dict(title=dict(text="Decoder"),
                  annotations=[dict(text=t, x=sum(d) / 2, y=1.0, xref="paper", yref="paper", showarrow=False,
                                    xanchor="center", yanchor="bottom", font=dict(size=14))
                               for t, d in zip(titles, domains)])
    for i, (domain, extra) in enumerate(zip(domains, ({}, {"range": [0, 1.02]}, {"type": "log"})), start=1):
        suffix = "" if i == 1 else str(i)
        layout[f"xaxis{suffix}"] = dict(domain=domain, anchor=f"y{suffix}", title=dict(text="step"))
        layout[f"yaxis{suffix}"] = dict(anchor=f"x{suffix}", **extra)
    return _figure(traces, layout)


def theory_vs_experiment(data: RunData, cls: int = 0) -> go.Figure:
    """Measured growth factor χ = e^{2(z(t)−z(0))} of the dominant distinct token of a class
    beside the SGD theory's Theorem 3/4 bounds e^{2f²(0)B_n} ≤ χ ≤ e^{2B_n} (B_n from Eqn 129, exact
    form, C0 = 1, effective rates under momentum), with t0′, t0 and the measured events marked.
    For Adam the bounds are still SGD theory at the same rates: the title says so."""
    layout = data.layout
    growth = GrowthFactor.of(data, cls)
    traces, shapes, notes = [], [], []
    if growth is not None:
        pred = predictions_for(data.config)
        t = np.linspace(0, max(growth.steps[-1], 1), 300)
        B = B_exact(t, layout.K, layout.M, pred.eta_y, pred.eta_z)
        lower, upper = chi_bounds(B, growth.f0_squared)
        traces = [
            dict(type="scatter", x=t, y=upper, mode="lines", line=dict(color="#555", dash="dash"),
                 name="SGD theory: upper e^{2B}"),
            dict(type="scatter", x=t, y=lower, mode="lines", line=dict(color="#555", dash="dot"), fill="tonexty",
                 fillcolor="rgba(85,85,85,0.08)", name="SGD theory: lower e^{2f²(0)B}"),
            dict(type="scatter", x=growth.steps, y=growth.chi, mode="lines+markers", marker=dict(size=4),
                 line=dict(color=DISTINCT_COLOR, width=2.5), name=f"measured χ, token {growth.token}"),
        ]
        shapes, notes = _phase_marks(data, float(t[-1]))
    outside = " (Adam run: the bounds are SGD theory)" if data.config.train.optimizer == "adam" else ""
    return _figure(traces, dict(
        title=dict(text=f"Growth factor of class {cls + 1}'s dominant distinct token vs SGD theory{outside}"),
        xaxis=dict(title=dict(text="step")), yaxis=dict(title=dict(text="χ(t) (log axis)"), type="log"),
        shapes=shapes, annotations=notes))


def all_figures(data: RunData, cls: int = 0) -> dict[str, go.Figure]:
    """Every view, by file-friendly name (for the figure pack)."""
    query = int(data.layout.psi[cls])
    return {
        "attention": attention_heatmap(data),
        "attention_history": attention_history(data, cls),
        "logit_trajectories": logit_trajectories(data, query),
        "decoder": decoder_panel(data),
        "theory_vs_experiment": theory_vs_experiment(data, cls),
    }


# --- Learning-rate sweep (docs/THEORY.md §7, Fig. 6)
def sweep_entropy(summary: pd.DataFrame) -> go.Figure:
    """The paper's Fig. 6: final distinct-token entropy against η_Y/η_Z (log axis), one line per
    η_Z with ± one standard deviation over seeds, one panel per number of query tokens.
    ``summary`` is :func:`~scansnap_core.sweep.summarize_sweep`'s table."""
    panels = sorted(summary["num_query"].unique()) if len(summary) else []
    n = max(1, len(panels))
    gap = 0.04
    width = (1 - gap * (n - 1)) / n
    traces, layout = [], dict(title=dict(text="Final distinct-token entropy vs η_Y/η_Z (mean ± std over seeds)"),
                              legend=dict(title=dict(text="η_Z")), annotations=[])
    eta_zs = sorted(summary["eta_z"].unique()) if len(summary) else []
    for p, q in enumerate(panels):
        suffix = "" if p == 0 else str(p + 1)
        x0 = p * (width + gap)
        ratios = sorted(summary["ratio"].unique())
        layout[f"xaxis{suffix}"] = dict(domain=[x0, x0 + width], type="log", anchor=f"y{suffix}",
                                        tickvals=ratios, ticktext=[f"{r:g}" for r in ratios],
                                        title=dict(text="η_Y / η_Z"))
        layout[f"yaxis{suffix}"] = dict(anchor=f"x{suffix}", matches="y" if p else None,
                                        title=dict(text="entropy (nats)") if p == 0 else None)
        layout["annotations"].append(dict(text=f"{q} query token{'s' if q > 1 else ''}", x=x0 + width / 2, y=1.0,
                                          xref="paper", yref="paper", showarrow=False, yanchor="bottom"))
        part = summary[summary["num_query"] == q]
        for c, ez in enumerate(eta_zs):
            line = part[part["eta_z"] == ez].sort_values("ratio")
            if not len(line):
                continue
            traces.append(dict(type="scatter", x=_f32(line["ratio"]), y=_f32(line["entropy_mean"]),
                               error_y=dict(type="data", array=_f32(line["entropy_std"]), visible=True),
                               mode="lines+markers", line=dict(color=PALETTE[c % len(PALETTE)]), name=f"{ez:g}",
                               legendgroup=f"{ez:g}", showlegend=p == 0, xaxis=f"x{suffix}", yaxis=f"y{suffix}",
                               hovertemplate=f"{q} query, η_Z = {ez:g}<br>η_Y/η_Z = %{{x:g}}<br>"
                                             "entropy = %{y:.3f} ± %{error_y.array:.3f}<extra></extra>"))
    return _figure(traces, layout)


def sweep_heatmap(table: pd.DataFrame, value: str, title: str, num_query: int, zmax: float | None = None) -> go.Figure:
    """One column of the sweep table (mean over the seeds where it is defined) over η_Y (columns) × η_Z
    (rows) for one number of query tokens; a constant η_Y/η_Z is a diagonal.  The hover says in how
    many seeds the value exists (an event such as the snap may be missing).  Empty cells: not in the
    grid, or no seed has the value."""
    part = table[table["num_query"] == num_query]
    cells = part.groupby(["eta_z", "eta_y"])[value] if len(part) else None
    if cells is None:
        grid = present = runs = pd.DataFrame()
    else:
        grid, present, runs = (cells.agg(how).unstack("eta_y") for how in ("mean", "count", "size"))
    z = _f32(grid.to_numpy()) if len(grid) else np.zeros((0, 0), dtype=np.float32)
    counts = np.stack([present.to_numpy(), runs.to_numpy()], -1).astype(np.float32) if len(grid) else None
    label = value.replace("_", " ")
    heat = dict(type="heatmap", z=z, x=[f"{v:g}" for v in grid.columns], y=[f"{v:g}" for v in grid.index],
                colorscale=VIRIDIS, zmin=0, zmax=zmax, colorbar=dict(title=dict(text=label)), customdata=counts,
                hovertemplate="η_Y = %{x}, η_Z = %{y}<br>" + label + " = %{z:.3f}<br>"
                              "defined in %{customdata[0]} of %{customdata[1]} seeds<extra></extra>",
                xgap=1, ygap=1)
    return _figure([heat], dict(title=dict(text=title), xaxis=dict(title=dict(text="η_Y"), type="category"),
                                yaxis=dict(title=dict(text="η_Z"), type="category")))


# --- Theory explorer
# Pure builders for the Theory explorer page: closed-form curves of docs/THEORY.md §6 (Eqn 13, Eqn 129, Eqn 14,
# Theorem 3 bounds) from plain parameters, vectorised over a time grid t.  The page validates the numbers.

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


def _time_marks(marks, log_axis: bool, xref: str = "x", yref: str = "paper") -> tuple[list[dict], list[dict]]:
    """Vertical lines at given times with labels.  ``marks``: (t, label, dash, colour).  Shapes take data
    values on a log axis, annotations take log10 of them (plotly's convention)."""
    shapes, notes = [], []
    for i, (x, label, dash, color) in enumerate(marks):
        shapes.append(dict(type="line", xref=xref, yref=yref, x0=x, x1=x, y0=0, y1=1,
                           line=dict(color=color, width=1.5, dash=dash)))
        if label:  # stagger labels vertically so that close marks (t0′ near t0) stay readable
            notes.append(dict(text=label, x=float(np.log10(x)) if log_axis else x, y=1.0 - 0.07 * (i % 2),
                              xref=xref, yref=yref, showarrow=False, xanchor="left", yanchor="top",
                              font=dict(size=12, color=color)))
    return shapes, notes


def _phase_times(K: int, M: float, eta_y: float, t: np.ndarray) -> list[tuple]:
    """t0′ (end of scanning) and t0 (start of snapping) marks inside the grid's range (§6, Eqn 14)."""
    lo, hi = float(t[0]), float(t[-1])
    marks = [(_theory.t0_prime(K, M, eta_y), "t0′", "dot", "#333"), (_theory.t0(K, M, eta_y), "t0", "dash", "#333")]
    return [m for m in marks if lo <= m[0] <= hi]


def _line(x, y, name: str, color: str, dash: str = "solid", width: float = 2.0, **extra) -> dict:
    return dict(type="scatter", x=_f32(x), y=_f32(y), mode="lines", name=name,
                line=dict(color=color, dash=dash, width=width), **extra)


def theory_h_gamma(K: int, M: float, eta_y: float, t: np.ndarray, log_axis: bool = False) -> go.Figure:
    """h(t/K) of Lemma 6 (Eqn 45) and the speed-control coefficient γ(t) of Theorem 1 (§6 recipe) in two
    panels, t0′ and t0 marked.  γ rises like η_Y t/K while scanning and decays like K ln(η_Y t/K)/(η_Y t)
    after snapping."""
    t = np.asarray(t, dtype=float)
    hv, gv = _theory.h(t / K, M, eta_y), _theory.gamma(t, K, M, eta_y)
    traces = [_line(t, hv, "h(t/K)", PALETTE[0], xaxis="x", yaxis="y",
                    hovertemplate="t = %{x:.4g}<br>h = %{y:.4g}<extra></extra>"),
              _line(t, gv, "γ(t)", PALETTE[2], xaxis="x2", yaxis="y2",
                    hovertemplate="t = %{x:.4g}<br>γ = %{y:.4g}<extra></extra>")]
    marks = _phase_times(K, M, eta_y, t)
    shapes, notes = _time_marks(marks, log_axis, "x")
    shapes2, notes2 = _time_marks(marks, log_axis, "x2")
    titles = [dict(text=s, x=c, y=1.0, xref="paper", yref="paper", showarrow=False, yanchor="bottom",
                   font=dict(size=14)) for s, c in (("h(t/K) (Lemma 6, Eqn 45)", 0.22), ("γ(t) (Theorem 1)", 0.78))]
    return _figure(traces, dict(
        title=dict(text=f"Decoder side: h and γ (K = {K:g}, M = {M:g}, η_Y = {eta_y:g})"),
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
        _line(t, _theory.B_exact(t, K, M, eta_y, eta_z, C0), "Eqn 129, exact: ¼ ln(1 + 4Γ/C0)", "#000",
              width=2.5, hovertemplate=hover),
        _line(t, _theory.B_paper(t, K, M, eta_y, eta_z, C0), "Eqn 129, paper form: ¼ ln(C0 + 4Γ)", "#777", "dash",
              hovertemplate=hover),
        _line(early_t, _theory.B_early(early_t, K, M, eta_y, eta_z, C0), "Eqn 14, scanning branch (t < t0′)",
              PALETTE[0], "dot", width=3, hovertemplate=hover),
        _line(late_t, _theory.B_late(late_t, K, M, eta_y, eta_z, C0), "Eqn 14, snapping branch (t ≥ t0)",
              PALETTE[1], "dot", width=3, hovertemplate=hover),
    ]
    shapes, notes = _time_marks(_phase_times(K, M, eta_y, t), log_axis)
    return _figure(traces, dict(
        title=dict(text=f"B_n(t) (K = {K:g}, M = {M:g}, η_Y = {eta_y:g}, η_Z = {eta_z:g}, C0 = {C0:g})"),
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
        _line(t, upper, "χ upper bound e^{2B}", DISTINCT_COLOR, "dash", xaxis="x", yaxis="y",
              hovertemplate="t = %{x:.4g}<br>e^{2B} = %{y:.4g}<extra></extra>"),
        _line(t, lower, f"χ lower bound e^{{2f²(0)B}}, f²(0) = {f0_squared:g}", DISTINCT_COLOR, "dot",
              xaxis="x", yaxis="y", fill="tonexty", fillcolor="rgba(0,114,178,0.10)",
              hovertemplate="t = %{x:.4g}<br>e^{2f²(0)B} = %{y:.4g}<extra></extra>"),
        _line(t, _theory.common_logit(t, K, M, eta_y, eta_z, C0), "common-token logit z_ml (Eqn 13)",
              COMMON_COLOR, xaxis="x2", yaxis="y2", hovertemplate="t = %{x:.4g}<br>z = %{y:.4f}<extra></extra>"),
    ]
    if measured is not None:
        steps, chi, label = measured
        traces.append(dict(type="scatter", x=_f32(steps), y=_f32(chi), mode="lines+markers", name=label,
                           marker=dict(size=4), line=dict(color="#000", width=2), xaxis="x", yaxis="y"))
    marks = _phase_times(K, M, eta_y, t)
    shapes, notes = _time_marks(marks, log_axis, "x")
    shapes2, notes2 = _time_marks(marks, log_axis, "x2")
    return _figure(traces, dict(
        title=dict(text="Growth factor χ of the dominant distinct token (Theorem 3) and the common token (Eqn 13)"),
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
        color = PALETTE[i % len(PALETTE)]
        B = _theory.B_exact(t, K, M, eta_y, eta_z, C0)
        traces.append(_line(t, np.exp(2 * B) if quantity == "chi" else B, f"η_Y = {eta_y:g}", color,
                            hovertemplate=f"η_Y = {eta_y:g}<br>t = %{{x:.4g}}<br>%{{y:.4g}}<extra></extra>"))
        ts = _theory.t0(K, M, eta_y)
        if t[0] <= ts <= t[-1]:
            marks.append((ts, "", "dot", color))
    shapes, notes = _time_marks(marks, log_axis)
    label = "χ(t) = e^{2B_n(t)}" if quantity == "chi" else "B_n(t)"
    return _figure(traces, dict(
        title=dict(text=f"Fig. 3 view: {label} for several η_Y (K = {K:g}, M = {M:g}, η_Z = {eta_z:g}, "
                        f"C0 = {C0:g}); dotted: t0 per η_Y"),
        xaxis=_x_axis(log_axis), yaxis=dict(title=dict(text=label)), shapes=shapes, annotations=notes))


def theory_eta_z_sweep(K: int, M: float, nu: float, eta_zs: Sequence[float], C0: float, t: np.ndarray,
                       log_axis: bool = False) -> go.Figure:
    """The paper's Fig. 9 view: B_n(t) of Eqn 129 (paper form) for several η_Z at a fixed ν = η_Y/η_Z, a
    dot at each curve's t0.  B_n(t0) depends only on K, M, ν, so the dots share one height; larger
    rates reach it sooner and end higher (sparser attention, §6 consequence (b))."""
    t = np.asarray(t, dtype=float)
    traces = []
    for i, eta_z in enumerate(eta_zs):  # a handful of rates; each curve is vectorised over t
        color, eta_y = PALETTE[i % len(PALETTE)], nu * eta_z
        traces.append(_line(t, _theory.B_paper(t, K, M, eta_y, eta_z, C0), f"η_Z = {eta_z:g}", color,
                            hovertemplate=f"η_Z = {eta_z:g}<br>t = %{{x:.4g}}<br>B = %{{y:.4f}}<extra></extra>"))
        ts = _theory.t0(K, M, eta_y)
        if t[0] <= ts <= t[-1]:
            traces.append(dict(type="scatter", x=_f32([ts]), y=_f32(_theory.B_paper(ts, K, M, eta_y, eta_z, C0)),
                               mode="markers", marker=dict(color=color, size=10), showlegend=False,
                               name=f"t0, η_Z = {eta_z:g}",
                               hovertemplate="t0 = %{x:.4g}<br>B = %{y:.4f}<extra>%{fullData.name}</extra>"))
    return _figure(traces, dict(
        title=dict(text=f"Fig. 9 view: B_n(t) for several η_Z at ν = η_Y/η_Z = {nu:g} (K = {K:g}, M = {M:g}, "
                        f"C0 = {C0:g}); dots: t0"),
        xaxis=_x_axis(log_axis), yaxis=dict(title=dict(text="B_n(t)"))))


# --- Compare (A/B): two runs on the same data (docs/THEORY.md §7, Fig. 5)
#: diverging, colour-blind safe: B's blue below 0, white at 0, A's vermillion above 0
DIFF_SCALE = [[0.0, "#0072B2"], [0.5, "#FFFFFF"], [1.0, "#D55E00"]]


def attention_difference(a: RunData, b: RunData, step: int | None = None) -> go.Figure:
    """c_A − c_B over the attention heatmap's columns (common | distinct of class 1 | …), a
    diverging scale centred at 0; cells of distinct tokens attended only by A, only by B or by
    both (:func:`~scansnap_core.compare.compare_runs`) are labelled "A", "B", "AB"."""

    rec_a, rec_b = record_at(a, step), record_at(b, step)
    layout = a.layout
    classes = list(range(min(layout.K, MAX_HEATMAP_CLASSES)))
    tokens, groups = _support_columns(layout, classes)
    z = _token_matrix(layout, rec_a.attention[a.run] - rec_b.attention[b.run], classes, tokens)
    seen_a, _ = attended_distinct(a, rec_a)
    seen_b, _ = attended_distinct(b, rec_b)
    code = seen_a.astype(int) + 2 * seen_b.astype(int)  # 1 only A, 2 only B, 3 both
    cells = np.nan_to_num(_token_matrix(layout, code, classes, tokens)).astype(int)  # NaN off-support -> ""
    label = np.array(["", "A", "B", "AB"], dtype=object)[cells]
    c_a = _token_matrix(layout, rec_a.attention[a.run], classes, tokens)
    c_b = _token_matrix(layout, rec_b.attention[b.run], classes, tokens)
    bound = float(np.nanmax(np.abs(z))) if np.isfinite(z).any() else 0.0
    bound = bound if bound > 0 else 1e-6  # an all-zero difference still needs a colour range
    heat = dict(type="heatmap", z=z, y=[f"class {n + 1}" for n in classes], colorscale=DIFF_SCALE,
                zmin=-bound, zmax=bound, zmid=0, text=label, texttemplate="%{text}",
                colorbar=dict(title=dict(text="c_A − c_B")),
                customdata=np.stack([np.broadcast_to(tokens, z.shape).astype(np.float32), c_a, c_b], -1),
                hovertemplate="%{y}, token %{customdata[0]}<br>c_A = %{customdata[1]:.4f}, "
                              "c_B = %{customdata[2]:.4f}<br>c_A − c_B = %{z:.4f}<br>attended by %{text}"
                              "<extra></extra>")
    axis, lines = _group_axis(groups)
    more = f" (first {len(classes)} of {layout.K} classes)" if layout.K > len(classes) else ""
    return _figure([heat], dict(title=dict(text=f"Attention difference c_A − c_B at step {rec_a.step}{more}"),
                                xaxis=axis, yaxis=dict(autorange="reversed"), shapes=lines))


