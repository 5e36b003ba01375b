"""Views of one run: the attention heatmap and history, the logit trajectories with the phase and
event marks, the decoder panel and the growth factor beside the SGD theory (docs/THEORY.md §5, §6, §10)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from ...lab import figure_style as style
from ...lab.figure_style import EVENT_COLOR, RATE_CHANGE_COLOR, SERIES, THEORY_COLOR, VIRIDIS, Mark, vertical_marks
from ..engine import Record
from ..layout import Layout
from ..results import GrowthFactor, RunData
from ..theory import B_exact, chi_bounds, predictions_for
from .tokens import COMMON_COLOR, DISTINCT_COLOR, DISTINCT_SHADES, MAX_HEATMAP_CLASSES, MAX_LOSS_POINTS, MAX_TRAJECTORIES

__all__ = ["attention_heatmap", "attention_history", "logit_trajectories", "decoder_panel", "theory_vs_experiment",
           "all_figures"]


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


def _group_axis(groups: list[str]) -> tuple[dict, list[dict]]:
    """x-axis ticks labelling column groups (common | class 1 | …) at their centres, and white
    separator lines between the groups."""
    edges = [0] + [i for i in range(1, len(groups)) if groups[i] != groups[i - 1]] + [len(groups)]
    centres = [(a + b - 1) / 2 for a, b in zip(edges[:-1], edges[1:])]
    names = [groups[e] for e in edges[:-1]]
    if len(names) > 4:  # "class 1 … class 10" would be turned on end and cut: numbers, and the axis says what
        every = -(-len(names) // 8)  # at most about 8 labels, so they never run into each other
        shown = [i for i, n in enumerate(names) if n.startswith("class ") and (int(n[6:]) - 1) % every == 0]
        centres, names = [centres[i] for i in shown], [names[i].removeprefix("class ") for i in shown]
        axis = dict(title=dict(text="distinct tokens of class (common first)"), tickangle=0, ticktext=names)
    else:
        axis = dict(ticktext=names)
    axis.update(tickmode="array", tickvals=centres, showgrid=False)
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
    more = f"first {len(classes)} of {layout.K} classes" if layout.K > len(classes) else ""
    heat = dict(type="heatmap", z=z, y=[f"class {n + 1}" for n in classes], colorscale=VIRIDIS, zmin=0,
                colorbar=dict(title=dict(text="c_n")),
                customdata=np.stack([np.broadcast_to(tokens, z.shape).astype(np.float32), prob], -1),
                hovertemplate="%{y}, token %{customdata[0]}<br>P(l|n) = %{customdata[1]:.4f}<br>"
                              "c = %{z:.4f}<extra></extra>")
    return style.figure([heat], dict(title=style.title(f"Attention c_n at step {record.step}", more), xaxis=axis,
                                     yaxis=dict(autorange="reversed"), shapes=lines))


def attention_history(data: RunData, cls: int = 0) -> go.Figure:
    """The paper's Fig. 4 view: c_n of one class over its support (columns, common first, then
    distinct by increasing P(l|n)) at every recorded step (rows)."""
    layout = data.layout
    valid = layout.support_prob[cls] > 0
    tokens = layout.support[cls][valid]
    z = style.f32([r.attention[data.run][cls][valid] for r in data.records])
    kinds = np.where(layout.support_distinct[cls][valid], "distinct", "common")
    axis, lines = _group_axis(list(kinds))
    # token ids as numbers (base64 in the page): a string per cell made this view the slowest to draw
    heat = dict(type="heatmap", z=z, y=np.asarray(data.steps, dtype=np.int32), colorscale=VIRIDIS, zmin=0,
                colorbar=dict(title=dict(text="c_n")),
                customdata=np.broadcast_to(tokens.astype(np.int32), z.shape),
                hovertemplate="step %{y}, token %{customdata}<br>c = %{z:.4f}<extra></extra>")
    return style.figure([heat], dict(title=dict(text=f"Attention history of class {cls + 1} (rows: steps)"),
                                     xaxis=axis, yaxis=dict(autorange="reversed", title=dict(text="step")),
                                     shapes=lines))


#: the theory's two regimes, shaded in colours of their own (not the token kinds' blue and vermillion)
SCANNING_SHADE, SNAPPING_SHADE = "#F0E442", "#B8B8B8"


def _phase_marks(data: RunData, x_max: float, xref: str = "x",
                 log_steps: bool = False) -> tuple[list[dict], list[dict]]:
    """Shapes and labels: the SGD theory's scanning (t < t0′) and snapping (t ≥ t0) regimes shaded,
    dotted t0′ and dashed t0, the measured events (docs/THEORY.md §10): dash-dot scan peak, solid snap,
    and the run's learning-rate changes; labels never overlap (``vertical_marks``).  ``log_steps``: the
    step axis is logarithmic, from step 1."""
    pred = predictions_for(data.config)
    x_min = 1.0 if log_steps else 0.0
    band = dict(type="rect", xref=xref, yref="paper", y0=0, y1=1, line=dict(width=0), layer="below", opacity=0.18)
    bands = []
    if pred.t0_prime > x_min:
        bands.append({**band, "x0": x_min, "x1": min(pred.t0_prime, x_max), "fillcolor": SCANNING_SHADE})
    if pred.t0 < x_max:
        bands.append({**band, "x0": max(pred.t0, x_min), "x1": x_max, "fillcolor": SNAPPING_SHADE})
    marks = [Mark(pred.t0_prime, "SGD t0′", "dot", THEORY_COLOR, side="right"),
             Mark(pred.t0, "SGD t0", "dash", THEORY_COLOR)]
    if data.scan_peak_step is not None:
        marks.append(Mark(data.scan_peak_step, "scan peak", "dashdot", EVENT_COLOR, y=0.02, side="right"))
    if data.snap_step is not None:
        marks.append(Mark(data.snap_step, "snap", "solid", EVENT_COLOR, y=0.02))
    marks += rate_change_marks(data.config)
    shapes, notes = vertical_marks([m for m in marks if x_min <= m.x <= x_max], xref, log_axis=log_steps,
                                   x_range=(x_min, x_max))
    return bands + shapes, notes


def rate_change_marks(cfg) -> list[Mark]:
    """A dotted line where the run's learning rates changed (``rate_changes``), labelled with the new rates."""
    marks, before = [], (cfg.train.eta_y, cfg.train.eta_z)
    for step, eta_y, eta_z in cfg.train.rate_changes:
        changed = [f"{name} → {new:g}" for name, old, new in (("η_Y", before[0], eta_y), ("η_Z", before[1], eta_z))
                   if new != old]
        marks.append(Mark(step, ", ".join(changed), "dot", RATE_CHANGE_COLOR, y=0.5, side="right"))
        before = (eta_y, eta_z)
    return marks


def logit_trajectories(data: RunData, query: int = 0, log_steps: bool = False,
                       z_limit: float | None = None) -> go.Figure:
    """z_ml(t) for the tokens of one query row: common tokens in vermillion, distinct tokens in
    blue, darker for larger P(l|n); the SGD theory's phases and t0′ / t0 and the measured scan peak
    and snap marked.  ``log_steps``: a logarithmic step axis (from step 1), for the early phases.
    ``z_limit``: a fixed axis −z_limit..z_limit, so runs compare by eye (auto-scaled, a run whose logits
    barely move looks like one whose logits move a lot)."""
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
    steps = np.asarray(data.steps, dtype=np.int32)
    history = style.f32([r.logits[data.run] for r in data.records])  # [records, K, S]
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
        traces.append(dict(type="scatter", x=x, y=y, customdata=style.f32(info), mode="lines",
                           line=dict(color=color, width=1.6), name=f"{kind} tokens", legendgroup=kind,
                           showlegend=kind not in seen,
                           hovertemplate=f"token %{{customdata[0]}} ({kind}, class %{{customdata[1]}}, "
                                         "P=%{customdata[2]:.4f})<br>step %{x}: z = %{y:.4f}<extra></extra>"))
        seen.add(kind)
    shapes, notes = _phase_marks(data, float(max(steps[-1], 1)), log_steps=log_steps)
    n_distinct = int(distinct.sum())
    note = f"{len(order_d)} of {n_distinct} distinct tokens shown" if len(order_d) < n_distinct else ""
    # the legend goes under the plot: beside it, it took a third of a half-width chart on a laptop
    return style.figure(traces, dict(title=style.title(f"Attention logits z_ml of query {query + 1}", note),
                                     xaxis=_step_axis(log_steps, steps[-1]),
                                     yaxis=dict(title=dict(text="z_ml"),
                                                **({"range": [-z_limit, z_limit]} if z_limit else {})),
                                     shapes=shapes, annotations=notes, margin=dict(l=60, r=20, t=60, b=85),
                                     legend=dict(orientation="h", x=0, xanchor="left", y=-0.2, yanchor="top")))


def _step_axis(log_steps: bool, last: float) -> dict:
    """The step axis: linear from 0, or logarithmic from step 1 (step 0 cannot show on it)."""
    if not log_steps:
        return dict(title=dict(text="step"))
    return dict(title=dict(text="step (log axis)"), type="log", range=[0, float(np.log10(max(last, 2)))])


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
    for n in range(min(K, len(SERIES))):
        line = dict(color=SERIES[n])
        traces.append(dict(type="scatter", x=steps, y=logit[:, n], mode="lines", line=line, name=f"class {n + 1}",
                           legendgroup=str(n), xaxis="x", yaxis="y"))
        traces.append(dict(type="scatter", x=steps, y=prob[:, n], mode="lines", line=line, showlegend=False,
                           legendgroup=str(n), xaxis="x2", yaxis="y2"))
    if K > len(SERIES):
        traces.append(dict(type="scatter", x=steps, y=prob.mean(axis=1), mode="lines",
                           line=dict(color="#000", dash="dash"), name=f"mean of {K} classes", xaxis="x2", yaxis="y2"))
    loss_steps, loss, width = _binned(np.asarray(data.losses, dtype=float))
    traces.append(dict(type="scatter", x=style.f32(loss_steps), y=style.f32(np.where(loss > 0, loss, np.nan)),
                       mode="lines",
                       line=dict(color=THEORY_COLOR), name="loss" if width == 1 else f"loss (mean of {width} steps)",
                       xaxis="x3", yaxis="y3"))
    domains = ([0, 0.27], [0.365, 0.635], [0.73, 1])
    titles = ("correct-token logit o_n", "probability α_n", "training loss (log axis)")
    layout = dict(title=dict(text="Decoder"),
                  annotations=[dict(text=t, x=sum(d) / 2, y=1.0, xref="paper", yref="paper", showarrow=False,
                                    xanchor="center", yanchor="bottom", font=dict(size=14))
                               for t, d in zip(titles, domains)])
    # powers of ten on the loss axis: plotly's default SI prefixes read "100μ" for 1e-4
    loss_axis = {"type": "log", "exponentformat": "power", "dtick": 1}
    for i, (domain, extra) in enumerate(zip(domains, ({}, {"range": [0, 1.02]}, loss_axis)), start=1):
        suffix = "" if i == 1 else str(i)
        layout[f"xaxis{suffix}"] = dict(domain=domain, anchor=f"y{suffix}", title=dict(text="step"))
        layout[f"yaxis{suffix}"] = dict(anchor=f"x{suffix}", **extra)
    return style.figure(traces, layout)


def theory_vs_experiment(data: RunData, cls: int = 0, log_steps: bool = False) -> go.Figure:
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
                 name="SGD theory: upper bound exp(2B)"),
            dict(type="scatter", x=t, y=lower, mode="lines", line=dict(color="#555", dash="dot"), fill="tonexty",
                 fillcolor="rgba(85,85,85,0.08)", name="SGD theory: lower bound exp(2f²(0)·B)"),
            dict(type="scatter", x=growth.steps, y=growth.chi, mode="lines+markers", marker=dict(size=4),
                 line=dict(color=DISTINCT_COLOR, width=2.5), name=f"measured χ, token {growth.token}"),
        ]
        shapes, notes = _phase_marks(data, float(t[-1]), log_steps=log_steps)
    outside = "Adam run: the bounds are SGD theory" if data.config.train.optimizer == "adam" else ""
    return style.figure(traces, dict(
        title=style.title(f"Growth factor of class {cls + 1}'s dominant distinct token vs SGD theory", outside),
        xaxis=_step_axis(log_steps, data.steps[-1]), yaxis=dict(title=dict(text="χ(t) (log axis)"), type="log"),
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
