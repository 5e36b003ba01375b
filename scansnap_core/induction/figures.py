"""The induction-heads study's figures: pure functions from an :class:`~.engine.InductionView` to plotly figures
(the page shows them live, the tests build them without a browser).  What each shows and what theory predicts:
docs/THEORY.md, "Induction heads"."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ..lab.figure_style import (EVENT_COLOR, SERIES, THEORY_COLOR, VIRIDIS, Mark, f32, figure, line, sampled_steps,
                                title, vertical_marks)
from .engine import InductionView, set_text

__all__ = ["FIGURES", "attention_figure", "loss_figure", "mutual_info_figure", "rpe_figure", "scale_figure",
           "selector_figure"]

#: Okabe–Ito colours of this study's concepts: the theory's set, a history match, no match
SELECTED_COLOR = "#0072B2"
NO_MATCH_COLOR = "#BBBBBB"
STAGE_FILLS = ("rgba(0,114,178,0.06)", "rgba(230,159,0,0.08)", "rgba(0,158,115,0.07)")


def _phases(view: InductionView, log_axis: bool = False, y_label: float = 0.99) -> tuple[list[dict], list[dict]]:
    """Shading for each training stage (labelled at the top) and the marks t_I and t_II once reached (on a log
    axis from step 1: shapes take steps, annotations log10 of them)."""
    shapes, notes = [], []
    first, right = (1 if log_axis else 0), max(view.config.total_steps, 1)
    for i, span in enumerate(view.stages if len(view.stages) > 1 else ()):
        start = max(span.start, first)
        shapes.append(dict(type="rect", xref="x", yref="paper", x0=start, x1=span.end, y0=0, y1=1,
                           fillcolor=STAGE_FILLS[i % len(STAGE_FILLS)], line=dict(width=0), layer="below"))
        middle = float(np.sqrt(start * span.end)) if log_axis else (start + span.end) / 2
        notes.append(dict(text=span.name.split(" · ")[0], x=float(np.log10(middle)) if log_axis else middle,
                          y=y_label, xref="x", yref="paper", showarrow=False, yanchor="top",
                          font=dict(size=12, color=THEORY_COLOR)))
    marks = [Mark(max(t, first), label, "dot", EVENT_COLOR, y=0.9) for t, label in
             ((view.t_selected, "t_I"), (view.t_copying, "t_II")) if t is not None]
    lines, labels = vertical_marks(marks, log_axis=log_axis, x_range=(first, right))
    return shapes + lines, notes + labels


def _time_layout(view: InductionView, heading: dict, y_title: str, log_axis: bool = False, **extra) -> dict:
    shapes, notes = _phases(view, log_axis)
    right = max(view.config.total_steps, 1)
    xaxis = (dict(title=dict(text="step (log scale)"), type="log", dtick="D2",
                  range=[0, float(np.log10(max(right, 2)))]) if log_axis
             else dict(title=dict(text="step"), range=[0, right]))
    return dict(title=heading, xaxis=xaxis, yaxis=dict(title=dict(text=y_title)), shapes=shapes, annotations=notes,
                legend=dict(orientation="h", y=-0.3, yanchor="top"), **extra)


def heads_label(heads: tuple[int, ...]) -> str:
    return "no head (constant)" if not heads else f"heads {set_text(heads)}"


#: a subset whose selector weight never reaches this share gets no colour or legend entry of its own
MINOR_SHARE = 0.05
MINOR_COLOR = "#CCCCCC"


def selector_figure(view: InductionView) -> go.Figure:
    """p_S(t) as stacked bands, one per head subset; the theory's S* = argmax Ĩ drawn in blue, and the subsets that
    never held 5 % drawn grey under one legend entry (with D = 3 and four heads there are 15)."""
    traces, colors = [], iter(SERIES)
    rows = sampled_steps(view.step, log_axis=True)
    peak = view.selector.max(axis=0)
    minor_listed = False
    for column, heads in enumerate(view.head_sets):
        best = heads == view.theory_heads
        minor = not best and peak[column] < MINOR_SHARE
        color = SELECTED_COLOR if best else MINOR_COLOR if minor else next(colors, MINOR_COLOR)
        name = "other subsets (< 5 %)" if minor else heads_label(heads) + (" = S* (theory)" if best else "")
        traces.append(dict(type="scatter", x=f32(rows), y=f32(view.selector[rows, column]), mode="lines",
                           stackgroup="p", name=name, legendgroup="minor" if minor else name,
                           showlegend=not (minor and minor_listed), line=dict(width=0.5, color=color),
                           fillcolor=color,
                           hovertemplate=f"{heads_label(heads)}: %{{y:.3f}} at step %{{x}}<extra></extra>"))
        minor_listed |= minor
    heading = title("Selector weights p_S", "the FFN's weight on each head subset, stacked (log step axis)")
    return figure(traces, _time_layout(view, heading, "p_S", log_axis=True, yaxis_range=[0, 1.0]))


def mutual_info_figure(view: InductionView) -> go.Figure:
    """The modified and the ordinary χ² mutual information of each candidate set of distances, from the prior; the
    argmax of each is starred, and the set the run's selected heads copy is outlined once stage I chose one."""
    theory = view.theory
    labels = [set_text(s) for s in theory.sets]
    chosen = tuple(view.copied(view.selected)) if view.t_selected is not None else None
    outline = [3 if s == chosen else 0 for s in theory.sets]
    traces = []
    for values, name, color, axis in ((theory.mi_modified, "modified Ĩ (selects)", SELECTED_COLOR, "y"),
                                      (theory.mi_plain, "ordinary I (grows with |S|)", NO_MATCH_COLOR, "y2")):
        y = [values[s] for s in theory.sets]
        best = int(np.argmax(y))
        traces.append(dict(type="bar", x=labels, y=f32(y), name=name, marker=dict(color=color, line=dict(
            width=outline, color=EVENT_COLOR)), yaxis=axis, offsetgroup=axis,
            text=["★" if i == best else "" for i in range(len(y))], textposition="outside", textfont=dict(size=16),
            hovertemplate="distances %{x}: %{y:.4f}<extra>" + name + "</extra>"))
    heading = title("χ² mutual information of the parent sets", "from the prior; ★ argmax; green outline: the set "
                    "the run selected" if chosen is not None else "from the prior; ★ argmax")
    top = max(theory.mi_modified.values()) * 1.25, max(theory.mi_plain.values()) * 1.25
    return figure(traces, dict(title=heading, barmode="group", xaxis=dict(title=dict(text="distances S")),
                               yaxis=dict(title=dict(text="modified Ĩ(S)"), range=[0, top[0] or 1]),
                               yaxis2=dict(title=dict(text="ordinary I(S)"), overlaying="y", side="right",
                                           showgrid=False, range=[0, top[1] or 1]),
                               legend=dict(orientation="h", y=-0.3, yanchor="top")))


def rpe_figure(view: InductionView, row: int = -1) -> go.Figure:
    """softmax(w_h) over the distances 1..M for each head at ``row`` (default: now)."""
    rpe = view.rpe[row]
    heads, window = rpe.shape
    trace = dict(type="heatmap", z=f32(rpe), x=[str(j) for j in range(1, window + 1)],
                 y=[f"head {h}" for h in range(1, heads + 1)], zmin=0, zmax=1, colorscale=VIRIDIS,
                 text=[[f"{v:.2f}" for v in r] for r in rpe], texttemplate="%{text}",
                 colorbar=dict(title=dict(text="weight")),
                 hovertemplate="%{y}, distance %{x}: %{z:.3f}<extra></extra>")
    step = view.step if row == -1 else row
    heading = title(f"First-layer heads: position weights (step {step})", "softmax(w_h) over the window")
    return figure([trace], dict(title=heading, xaxis=dict(title=dict(text="distance j (the head copies x at i − j)")),
                                yaxis=dict(autorange="reversed")))


def scale_figure(view: InductionView) -> go.Figure:
    """a(t), the second layer's scale."""
    heading = title("Classifier scale a", "a → ∞ turns layer 2 into the generalized induction head")
    rows = sampled_steps(view.step)
    return figure([line(rows, view.scale[rows], "a", SELECTED_COLOR)], _time_layout(view, heading, "a",
                                                                                   showlegend=False))


def loss_figure(view: InductionView) -> go.Figure:
    """Training loss every step, validation loss at the evaluations, and the reference losses as lines."""
    refs = view.references
    rows = sampled_steps(view.step)
    rows = rows[np.isfinite(view.loss[rows])]
    traces = [line(rows, view.loss[rows], "training loss", SELECTED_COLOR),
              dict(type="scatter", x=f32(view.eval_steps), y=f32(view.val_loss), mode="markers",
                   name="validation loss", marker=dict(color=EVENT_COLOR, size=6))]
    right = max(view.config.total_steps, 1)
    for value, name, dash in ((refs.unigram, "in-context unigram", "dot"), (refs.count, "count estimator", "dashdot"),
                              (refs.bayes, "Bayes-optimal", "dash")):
        traces.append(line([0, right], [value, value], f"{name} ({value:.3f})", THEORY_COLOR, dash=dash, width=1.5))
    heading = title("Loss", "reference lines: on the training sequences, with the true parents")
    return figure(traces, _time_layout(view, heading, "loss (nats)"))


def attention_figure(view: InductionView, row: int = -1) -> go.Figure:
    """The second layer's attention over positions 1..L of one validation sequence, coloured by whether the
    position's history matches the query's at the distances the selected heads copy."""
    attention, match = view.display_attention(row)
    positions = np.arange(1, attention.size + 1)
    tokens = view.display_tokens[:-1]
    distances = set_text(view.copied(view.chosen(row), row))
    traces = [dict(type="bar", x=positions[which], y=f32(attention[which]), name=name,
                   marker=dict(color=color), customdata=tokens[which],
                   hovertemplate="position %{x}: token %{customdata}, weight %{y:.3f}<extra>" + name + "</extra>")
              for which, name, color in ((match, f"history matches at {distances}", EVENT_COLOR),
                                         (~match, "no match", NO_MATCH_COLOR))]
    mass = float(attention[match].sum())
    heading = title("Layer-2 attention on one sequence", f"{mass:.0%} on positions whose history matches the query's "
                    f"at distances {distances}")
    return figure(traces, dict(title=heading, xaxis=dict(title=dict(text="position l")),
                               yaxis=dict(title=dict(text="attention s_l")), bargap=0.1,
                               legend=dict(orientation="h", y=-0.3, yanchor="top")))


#: every figure of a run by file name (the figure pack, the CLI, the tests)
FIGURES = {"selector": selector_figure, "mutual_info": mutual_info_figure, "rpe": rpe_figure, "scale": scale_figure,
           "loss": loss_figure, "attention": attention_figure}
