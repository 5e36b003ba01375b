"""The real-text study's figures: pure functions from a run's view (or a learning-rate comparison's table) to plotly
figures, shown live by the page and exported by the CLI.  What each shows: docs/THEORY.md, "Real text"."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..lab.figure_style import (EVENT_COLOR, SERIES, THEORY_COLOR, VIRIDIS, Mark, f32, figure, line,
                                sampled_steps, step_axes, title, vertical_marks)
from .engine import FREEZE_FRACTION, TextView, uniform_entropy

__all__ = ["FIGURES", "attention_maps_figure", "comparison_figure", "drift_figure", "entropy_figure", "loss_figure",
           "map_steps"]

MEASURED_COLOR = "#000000"
CAPPED_ROWS = 3  # the attention maps' colour scale ends at the largest weight of the rows after these


def _layer_color(view: TextView, layer: int) -> str:
    return SERIES[layer % len(SERIES)] if view.config.layers > 1 else MEASURED_COLOR


def _freeze_marks(view: TextView) -> list[Mark]:
    marks = []
    for layer in range(view.config.layers):
        at = view.freeze_step(layer)
        if at is not None:
            name = f"layer {layer + 1} frozen" if view.config.layers > 1 else "frozen"
            marks.append(Mark(at, name, "dot", EVENT_COLOR, y=0.95 - 0.08 * layer))
    return marks


def entropy_figure(view: TextView) -> go.Figure:
    """Each layer's validation attention entropy against step, beside uniform causal attention's."""
    traces = [dict(type="scatter", x=f32(view.eval_steps), y=f32(view.entropy[:, layer]), mode="lines",
                   name=f"layer {layer + 1}", line=dict(color=_layer_color(view, layer), width=2))
              for layer in range(view.config.layers)]
    traces.append(line([0, view.config.steps], [view.entropy_uniform] * 2, f"uniform attention "
                       f"{view.entropy_uniform:.3f}", THEORY_COLOR, dash="dash", width=1.5))
    shapes, notes = vertical_marks(_freeze_marks(view), x_range=(0, view.config.steps))
    heading = title("Attention entropy", f"validation, mean over the rows of {view.windows} fixed sequences (nats)")
    return figure(traces, dict(title=heading, shapes=shapes, annotations=notes,
                               **step_axes("step", "entropy (nats)", view.config.steps)))


def drift_figure(view: TextView) -> go.Figure:
    """Each layer's drift (mean total variation between attention snapshots ``drift_every`` steps apart), with the
    freezing threshold (a fraction of its peak) and the freezing point once reached."""
    traces = []
    for layer in range(view.config.layers):
        color = _layer_color(view, layer)
        series = view.drift[:, layer]
        traces.append(dict(type="scatter", x=f32(view.drift_steps), y=f32(series), mode="lines+markers",
                           name=f"layer {layer + 1}", line=dict(color=color, width=2), marker=dict(size=6)))
        if series.size > 1:
            traces.append(line([view.drift_steps[int(np.argmax(series))], view.config.steps],
                               [FREEZE_FRACTION * series.max()] * 2, f"{FREEZE_FRACTION:.0%} of layer {layer + 1}'s "
                               "peak", color, dash="dot", width=1))
    shapes, notes = vertical_marks(_freeze_marks(view), x_range=(0, view.config.steps))
    heading = title("Drift: how much the attention still changes",
                    f"mean total variation between snapshots {view.config.drift_every} steps apart")
    return figure(traces, dict(title=heading, shapes=shapes, annotations=notes,
                               **step_axes("step", "total variation", view.config.steps, rangemode="tozero",
                                           **({} if view.drift.size else {"range": [0, 0.5]}))))


def loss_figure(view: TextView) -> go.Figure:
    rows = sampled_steps(view.step)
    rows = rows[np.isfinite(view.loss[rows])]
    traces = [line(rows, view.loss[rows], "training batch", "#B8B8B8", width=1),
              dict(type="scatter", x=f32(view.eval_steps), y=f32(view.val_loss), mode="lines", name="validation",
                   line=dict(color=MEASURED_COLOR, width=2))]
    return figure(traces, dict(title=title("Loss", "next-token cross-entropy (nats)"),
                               **step_axes("step", "loss (nats)", view.config.steps)))


def map_steps(view: TextView, panels: int = 4) -> list[int]:
    """The kept map steps nearest to evenly spaced points of the run so far (the first and the latest included),
    as Fig. 7 shows four moments of training."""
    if not view.map_steps.size:
        return []
    wanted = np.linspace(0, view.step, panels)
    return sorted({view.map_at(int(w))[0] for w in wanted})


def attention_maps_figure(view: TextView, layer: int = 0, steps: list[int] | None = None) -> go.Figure:
    """One fixed validation sequence's attention (query rows, key columns) at a few steps, one colour scale:
    how it sparsifies and then stops changing (the paper's Fig. 7).  Panels laid out by hand: plotly's
    make_subplots costs about 0.1 s per figure, too slow for a live chart."""
    steps = map_steps(view) if steps is None else sorted({view.map_at(s)[0] for s in steps})  # kept steps only
    words = [html.escape(w) for w in view.words]  # uploaded text: plotly reads a few HTML tags in labels
    labels = [f"{i}·{w}" for i, w in enumerate(words)]
    maps = [view.map_at(s)[1][layer] for s in steps]
    # the first rows see one to three tokens and hold weights near 1; the scale follows the rest
    top = float(max((m[CAPPED_ROWS:].max() for m in maps), default=1.0))
    panels, gap = max(1, len(maps)), 0.02
    width = (1 - gap * (panels - 1)) / panels
    traces, layout, notes = [], {}, []
    for i, (step, grid) in enumerate(zip(steps, maps)):
        suffix = "" if i == 0 else str(i + 1)
        left = i * (width + gap)
        traces.append(dict(type="heatmap", z=f32(grid), x=labels, y=labels, colorscale=VIRIDIS, zmin=0, zmax=top,
                           xaxis=f"x{suffix}", yaxis=f"y{suffix}", showscale=i == panels - 1,
                           colorbar=dict(title=dict(text="attention"), len=0.8),
                           hovertemplate="query %{y}<br>key %{x}<br>attention %{z:.3f}<extra></extra>"))
        layout[f"xaxis{suffix}"] = dict(domain=[left, left + width], showticklabels=False, anchor=f"y{suffix}")
        layout[f"yaxis{suffix}"] = dict(autorange="reversed", showticklabels=i == 0, tickfont=dict(size=8),
                                        anchor=f"x{suffix}")
        notes.append(dict(text=f"step {step}", x=left + width / 2, y=1.0, xref="paper", yref="paper",
                          xanchor="center", yanchor="bottom", showarrow=False, font=dict(size=14)))
    which = f"layer {layer + 1}, " if view.config.layers > 1 else ""
    return figure(traces, dict(title=title("Attention on one validation sequence", f"{which}{view.config.context} "
                                           "tokens, query rows × key columns (causal); colours capped at the largest "
                                           f"weight after row {CAPPED_ROWS}; hover for the words"),
                               annotations=notes, margin=dict(l=90, r=20, t=110, b=20), **layout))


def comparison_figure(summary: pd.DataFrame, table: pd.DataFrame, context: int) -> go.Figure:
    """The paper's Fig. 10: final validation attention entropy against the learning rate, one line per layer
    (mean over seeds) with each seed's run as a dot, and uniform attention's entropy."""
    traces = []
    layers = sorted(summary["layer"].unique()) if len(summary) else []
    for layer in layers:
        color = SERIES[(layer - 1) % len(SERIES)] if len(layers) > 1 else MEASURED_COLOR
        part, runs = summary[summary["layer"] == layer], table[table["layer"] == layer]
        traces.append(dict(type="scatter", x=f32(part["lr"]), y=f32(part["entropy_mean"]), mode="lines+markers",
                           name=f"layer {layer}, mean over seeds", line=dict(color=color, width=2)))
        traces.append(dict(type="scatter", x=f32(runs["lr"]), y=f32(runs["entropy_end"]), mode="markers",
                           name=f"layer {layer}, each run", marker=dict(color=color, size=7, symbol="circle-open"),
                           customdata=runs["seed"], hovertemplate="lr %{x:g}, seed %{customdata}: %{y:.3f}"
                                                                 "<extra></extra>"))
    if len(table):
        lrs = [float(table["lr"].min()), float(table["lr"].max())]
        traces.append(line(lrs, [uniform_entropy(context)] * 2, "uniform attention", THEORY_COLOR, dash="dash",
                           width=1.5))
    return figure(traces, dict(title=title("Final attention entropy against the learning rate",
                                           "validation, after the same number of steps (the paper's Fig. 10)"),
                               xaxis=dict(title=dict(text="learning rate")),
                               yaxis=dict(title=dict(text="entropy (nats)")),
                               legend=dict(orientation="h", y=-0.3, yanchor="top")))


#: the run's figures by name (export and the page)
FIGURES = {"entropy": entropy_figure, "drift": drift_figure, "loss": loss_figure, "maps": attention_maps_figure}
