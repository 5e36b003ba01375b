"""Figure builders: pure functions from run data to plotly Figures.

No UI imports: the dashboard shows these figures, the CLI and the figure pack export them.
Colours are colour-blind safe: a perceptual sequential scale (viridis) for attention, a
diverging scale centred at 0 for logits, and the Okabe–Ito palette for categories.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .engine import Record
from .layout import Layout
from .results import RunData
from .theory import B_exact, chi_bounds, predictions_for

__all__ = ["RunData", "attention_heatmap", "attention_history", "logit_trajectories", "decoder_panel",
           "theory_vs_experiment", "all_figures", "COMMON_COLOR", "MAX_HEATMAP_CLASSES"]

#: Okabe–Ito vermillion for common tokens, blue for distinct ones (colour-blind safe pair)
COMMON_COLOR = "#D55E00"
DISTINCT_COLOR = "#0072B2"
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
#: the live heatmap shows at most this many classes (a K = 100 layout would be 10⁶ cells)
MAX_HEATMAP_CLASSES = 20
#: at most this many logit trajectories are drawn (evenly spread over P(l|n))
MAX_TRAJECTORIES = 60

_LAYOUT = dict(template="plotly_white", font=dict(size=14), margin=dict(l=60, r=20, t=60, b=50))


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


def _group_ticks(fig: go.Figure, groups: list[str], row: int | None = None) -> None:
    """Label column groups (common | class 1 | …) at their centres and separate them."""
    edges = [0] + [i for i in range(1, len(groups)) if groups[i] != groups[i - 1]] + [len(groups)]
    centres = [(a + b - 1) / 2 for a, b in zip(edges[:-1], edges[1:])]
    kw = dict(row=row, col=1) if row else {}
    fig.update_xaxes(tickmode="array", tickvals=centres, ticktext=[groups[e] for e in edges[:-1]], **kw)
    for e in edges[1:-1]:
        fig.add_vline(x=e - 0.5, line_color="white", line_width=2, **kw)


def attention_heatmap(data: RunData, record: Record | None = None) -> go.Figure:
    """c_n (Eqn 5) of every class over the contextual tokens, columns grouped common |
    distinct of class 1 | class 2 …, each group ordered by P(l|n)."""
    record = record or data.latest
    layout = data.layout
    classes = list(range(min(layout.K, MAX_HEATMAP_CLASSES)))
    tokens, groups = _support_columns(layout, classes)
    z = _token_matrix(layout, record.attention[data.run], classes, tokens)
    prob = _token_matrix(layout, layout.support_prob, classes, tokens)
    fig = go.Figure(go.Heatmap(
        z=z, x=list(range(len(tokens))), y=[f"class {n + 1}" for n in classes], colorscale="Viridis",
        zmin=0, colorbar=dict(title="c_n"), customdata=np.stack([np.broadcast_to(tokens, z.shape), prob], -1),
        hovertemplate="%{y}, token %{customdata[0]}<br>P(l|n) = %{customdata[1]:.4f}<br>c = %{z:.4f}<extra></extra>",
    ))
    more = f" (first {len(classes)} of {layout.K} classes)" if layout.K > len(classes) else ""
    fig.update_layout(title=f"Attention c_n at step {record.step}{more}", **_LAYOUT)
    fig.update_yaxes(autorange="reversed")
    _group_ticks(fig, groups)
    return fig


def attention_history(data: RunData, cls: int = 0) -> go.Figure:
    """The paper's Fig. 4 view: c_n of one class over its support (columns, common first, then
    distinct by increasing P(l|n)) at every recorded step (rows)."""
    layout = data.layout
    valid = layout.support_prob[cls] > 0
    tokens = layout.support[cls][valid]
    z = np.stack([r.attention[data.run][cls][valid] for r in data.records])
    kinds = np.where(layout.support_distinct[cls][valid], "distinct", "common")
    fig = go.Figure(go.Heatmap(
        z=z, x=list(range(len(tokens))), y=data.steps, colorscale="Viridis", zmin=0, colorbar=dict(title="c_n"),
        customdata=np.broadcast_to(np.stack([tokens, kinds], -1), z.shape + (2,)),
        hovertemplate="step %{y}, token %{customdata[0]} (%{customdata[1]})<br>c = %{z:.4f}<extra></extra>",
    ))
    fig.update_layout(title=f"Attention history of class {cls + 1} (rows: steps)", yaxis_title="step", **_LAYOUT)
    fig.update_yaxes(autorange="reversed")
    _group_ticks(fig, list(kinds))
    return fig


def _phase_marks(fig: go.Figure, data: RunData, x_max: float, rows: Sequence[int | None] = (None,)) -> None:
    """Shade scanning (t < t0′) and snapping (t ≥ t0); dotted t0′, dashed t0, solid measured step."""
    pred = predictions_for(data.config)
    for row in rows:
        kw = dict(row=row, col=1) if row else {}
        if pred.t0_prime > 0:
            fig.add_vrect(x0=0, x1=min(pred.t0_prime, x_max), fillcolor=DISTINCT_COLOR, opacity=0.06, line_width=0,
                          **kw)
        if pred.t0 < x_max:
            fig.add_vrect(x0=pred.t0, x1=x_max, fillcolor=COMMON_COLOR, opacity=0.06, line_width=0, **kw)
        marks = [(pred.t0_prime, "t0′", "dot", "top left"), (pred.t0, "t0", "dash", "top right")]
        if data.snap_step is not None:
            marks.append((data.snap_step, "measured snap", "solid", "bottom right"))
        for x, label, dash, where in marks:
            if x <= x_max:
                fig.add_vline(x=x, line_dash=dash, line_color="#333", line_width=1.5,
                              annotation_text=label if row in (None, rows[0]) else None,
                              annotation_position=where, **kw)


def logit_trajectories(data: RunData, query: int = 0) -> go.Figure:
    """z_ml(t) for the tokens of one query row: common tokens in vermillion, distinct tokens in
    blue, darker for larger P(l|n); phases and t0′ / t0 / measured snapping step marked."""
    layout = data.layout
    classes = np.flatnonzero(layout.psi == query)
    steps = data.steps
    fig = go.Figure()
    seen: set[int] = set()
    lines = []
    for n in classes:
        for s in np.flatnonzero(layout.support_prob[n] > 0):
            token = int(layout.support[n, s])
            if token in seen:
                continue
            seen.add(token)
            lines.append((token, n, s, bool(layout.support_distinct[n, s]), float(layout.support_prob[n, s])))
    distinct = [ln for ln in lines if ln[3]]
    if len(distinct) > MAX_TRAJECTORIES:
        keep = set(np.linspace(0, len(distinct) - 1, MAX_TRAJECTORIES).round().astype(int))
        distinct = [ln for i, ln in enumerate(sorted(distinct, key=lambda x: x[4])) if i in keep]
    shown = [ln for ln in lines if not ln[3]] + distinct
    pmax = max((ln[4] for ln in distinct), default=1.0)
    history = np.stack([r.logits[data.run] for r in data.records])  # [records, K, S]
    legend_done = {"common": False, "distinct": False}
    for token, n, s, is_distinct, p in shown:
        kind = "distinct" if is_distinct else "common"
        color = _shade(DISTINCT_COLOR, 0.25 + 0.75 * p / pmax) if is_distinct else COMMON_COLOR
        fig.add_trace(go.Scatter(
            x=steps, y=history[:, n, s], mode="lines", line=dict(color=color, width=1.6),
            name=f"{kind} tokens", legendgroup=kind, showlegend=not legend_done[kind],
            hovertemplate=f"token {token} ({kind}, class {n + 1}, P={p:.4f})<br>step %{{x}}: z = %{{y:.4f}}<extra></extra>",
        ))
        legend_done[kind] = True
    _phase_marks(fig, data, float(max(steps[-1], 1)))
    note = f" ({len(distinct)} of {sum(ln[3] for ln in lines)} distinct tokens)" if len(distinct) < sum(
        ln[3] for ln in lines) else ""
    fig.update_layout(title=f"Attention logits z_ml of query {query + 1}{note}", xaxis_title="step",
                      yaxis_title="z_ml", **_LAYOUT)
    return fig


def _shade(hex_color: str, strength: float) -> str:
    """Blend a colour with white: strength 1 = the colour, 0 = white."""
    rgb = np.array([int(hex_color[i:i + 2], 16) for i in (1, 3, 5)])
    mixed = (255 - strength * (255 - rgb)).round().astype(int)
    return "#" + "".join(f"{v:02x}" for v in mixed)


def decoder_panel(data: RunData) -> go.Figure:
    """Decoder side: the correct-token logit o_n and probability α_n per class, and the
    training loss on a log axis."""
    steps = data.steps
    logit = np.stack([r.correct_logit[data.run] for r in data.records])
    prob = np.stack([r.correct_prob[data.run] for r in data.records])
    fig = make_subplots(rows=1, cols=3, subplot_titles=("correct-token logit o_n", "probability α_n",
                                                        "training loss (log axis)"), horizontal_spacing=0.08)
    K = data.layout.K
    for n in range(min(K, len(PALETTE))):
        color = PALETTE[n % len(PALETTE)]
        fig.add_trace(go.Scatter(x=steps, y=logit[:, n], mode="lines", line=dict(color=color), name=f"class {n + 1}",
                                 legendgroup=str(n)), row=1, col=1)
        fig.add_trace(go.Scatter(x=steps, y=prob[:, n], mode="lines", line=dict(color=color), showlegend=False,
                                 legendgroup=str(n)), row=1, col=2)
    if K > len(PALETTE):
        fig.add_trace(go.Scatter(x=steps, y=prob.mean(axis=1), mode="lines", line=dict(color="#000", dash="dash"),
                                 name=f"mean of {K} classes"), row=1, col=2)
    loss = np.asarray(data.losses, dtype=float)
    fig.add_trace(go.Scatter(x=np.arange(1, len(loss) + 1), y=np.where(loss > 0, loss, np.nan), mode="lines",
                             line=dict(color="#333"), name="loss"), row=1, col=3)
    fig.update_yaxes(type="log", row=1, col=3)
    fig.update_yaxes(range=[0, 1.02], row=1, col=2)
    fig.update_xaxes(title_text="step")
    fig.update_layout(title="Decoder", **_LAYOUT)
    return fig


def theory_vs_experiment(data: RunData, cls: int = 0) -> go.Figure:
    """Measured growth factor χ = e^{2(z(t)−z(0))} of the dominant distinct token of a class
    beside the Theorem 3/4 bounds e^{2f²(0)B_n} ≤ χ ≤ e^{2B_n} (B_n from Eqn 129, exact form,
    C0 = 1, effective rates under momentum), with t0′ and t0 marked."""
    layout = data.layout
    distinct = np.flatnonzero(layout.support_distinct[cls])
    steps = data.steps
    fig = go.Figure()
    if len(distinct):
        s = distinct[np.argmax(layout.support_prob[cls, distinct])]
        z = np.array([r.logits[data.run][cls, s] for r in data.records])
        chi = np.exp(2 * (z - z[0]))
        pred = predictions_for(data.config)
        t = np.linspace(0, max(steps[-1], 1), 300)
        B = B_exact(t, layout.K, layout.M, pred.eta_y, pred.eta_z)
        f0 = data.records[0].attention[data.run][cls]
        f0 = f0 / np.linalg.norm(f0)
        lower, upper = chi_bounds(B, float(f0[s] ** 2))
        fig.add_trace(go.Scatter(x=t, y=upper, mode="lines", line=dict(color="#555", dash="dash"),
                                 name="theory upper e^{2B}"))
        fig.add_trace(go.Scatter(x=t, y=lower, mode="lines", line=dict(color="#555", dash="dot"),
                                 fill="tonexty", fillcolor="rgba(85,85,85,0.08)", name="theory lower e^{2f²(0)B}"))
        fig.add_trace(go.Scatter(x=steps, y=chi, mode="lines+markers", marker=dict(size=4),
                                 line=dict(color=DISTINCT_COLOR, width=2.5),
                                 name=f"measured χ, token {int(layout.support[cls, s])}"))
        _phase_marks(fig, data, float(t[-1]))
    fig.update_layout(title=f"Theory vs experiment: growth factor of class {cls + 1}'s dominant distinct token",
                      xaxis_title="step", yaxis_title="χ(t) (log axis)", **_LAYOUT)
    fig.update_yaxes(type="log")
    return fig


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
