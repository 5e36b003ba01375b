"""The JoMA study's figures: pure functions from a demo's view to plotly figures (the page shows them live, the
tests and the CLI build them without a browser).  What each shows: docs/THEORY.md, "JoMA"."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.colors import sample_colorscale
from plotly.subplots import make_subplots

from ..lab.figure_style import (DIVERGING, EVENT_COLOR, LAYOUT, SERIES, TEMPLATE, THEORY_COLOR, VIRIDIS, Mark, f32,
                                figure, line, sampled_steps, step_axes, title,
                                vertical_marks)
from .hier import HierView
from .invariant import InvariantView
from .lm import LMView
from .reduced import ReducedView

__all__ = ["HIER_FIGURES", "INVARIANT_FIGURES", "LM_FIGURES", "REDUCED_FIGURES", "latent_unit_figure",
           "reduced_entropy_figure"]

#: Okabe–Ito colours of this study's concepts: distinct tokens (as in Scan & Snap), common tokens, the measurement
DISTINCT_COLOR = "#0072B2"
COMMON_COLOR = "#D55E00"
MEASURED_COLOR = "#000000"
# ---------------------------------------------------------------- Demo 1: the invariant
def class_distributions_figure(view: InvariantView) -> go.Figure:
    """X: each class's token distribution (columns), distinct tokens above the line, common below."""
    c = view.config
    labels = [f"d{i}" for i in range(c.distinct)] + [f"c{i}" for i in range(c.common)]
    trace = dict(type="heatmap", z=f32(view.x), x=[str(k) for k in range(c.classes)], y=labels, colorscale=VIRIDIS,
                 colorbar=dict(title=dict(text="P(token)")),
                 hovertemplate="class %{x}, token %{y}: %{z:.3f}<extra></extra>")
    line_at = dict(type="line", xref="paper", x0=0, x1=1, yref="y", y0=c.distinct - 0.5, y1=c.distinct - 0.5,
                   line=dict(color="white", width=2))
    return figure([trace], dict(title=title("Class distributions X", "rows: distinct tokens (d), then common (c)"),
                                xaxis=dict(title=dict(text="class k")), yaxis=dict(autorange="reversed"),
                                shapes=[line_at]))


def nc_figure(view: InvariantView) -> go.Figure:
    """NC(z, ẑ) against step; for softmax attention also the NC of each of the invariant's two terms alone."""
    rows = sampled_steps(view.step)
    c = view.config
    what = "z∘z vs Σ v∘v + c" if c.attention == "linear" else "z vs the invariant ẑ"
    traces = [line(rows, view.nc[rows], f"NC({what})", MEASURED_COLOR, width=2.5)]
    if c.attention == "softmax":
        terms = view.nc_terms[rows]
        traces += [line(rows, terms[:, 0], "Σ v∘v / 2T term alone", DISTINCT_COLOR, dash="dot"),
                   line(rows, terms[:, 1], "−Σ ‖v‖² b̄ / 2T term alone", COMMON_COLOR, dash="dot")]
    low = float(np.nanmin([t["y"].min() for t in traces])) if view.step else 0.9
    heading = title("Do the logits follow the invariant?", f"normalised correlation; 1 = z is the invariant's "
                    f"function of the MLP weights (NC = {view.nc[-1]:.4f} now)")
    return figure(traces, dict(title=heading, **step_axes("step", "NC", c.steps, range=[min(low, 0.9) - 0.02, 1.01])))


def weights_figure(view: InvariantView, row: int = -1) -> go.Figure:
    """V = U_Cᵀ W at the start and at ``row``'s snapshot: each unit's weights on the contextual tokens."""
    start, now = view.snapshots[0], view.snapshots[row]
    scale = float(np.abs(now).max()) or 1.0
    fig = make_subplots(rows=1, cols=2, subplot_titles=("step 0", f"step {view.snapshot_steps[row]}"),
                        horizontal_spacing=0.08)
    for col, v in ((1, start), (2, now)):
        fig.add_trace(go.Heatmap(z=f32(v), zmin=-scale, zmax=scale, colorscale=DIVERGING, showscale=col == 2,
                                 colorbar=dict(title=dict(text="v")),
                                 hovertemplate="token %{y}, unit %{x}: %{z:.3f}<extra></extra>"), row=1, col=col)
    fig.update_yaxes(autorange="reversed", title_text="token (distinct first)", col=1)
    fig.update_yaxes(autorange="reversed", col=2)
    fig.update_xaxes(title_text="unit k")
    fig.update_layout(template=TEMPLATE, **{**LAYOUT, "margin": dict(LAYOUT["margin"], t=90)},
                      title=title("MLP weights on the tokens, V = U_Cᵀ W", "one colour scale for both"))
    return fig


def unit_weights_figure(view: InvariantView, shown: int = 6) -> go.Figure:
    """v_{0,l}(t): the first unit's weight on a few distinct and common tokens."""
    rows = sampled_steps(view.step)
    c = view.config
    tokens = list(range(min(shown - 2, c.distinct))) + list(range(c.distinct, c.distinct + min(2, c.common)))
    traces = [line(rows, view.v_unit[rows, t], f"{'distinct' if t < c.distinct else 'common'} token {t}",
                   SERIES[i % len(SERIES)], dash="solid" if t < c.distinct else "dash") for i, t in enumerate(tokens)]
    return figure(traces, dict(title=title("One unit's weights v₀(t)", "unit 0 (class 0's readout for a linear MLP)"),
                               **step_axes("step", "v", c.steps)))


def entropy_figure(view: InvariantView) -> go.Figure:
    rows = sampled_steps(view.step)
    return figure([line(rows, view.entropy[rows], "attention entropy", MEASURED_COLOR)],
                  dict(title=title("Attention entropy", "mean over the classes (nats)"),
                       **step_axes("step", "entropy (nats)", view.config.steps), showlegend=False))


def logits_figure(view: InvariantView) -> go.Figure:
    """Mean logit of the distinct and of the common tokens."""
    rows = sampled_steps(view.step)
    distinct, common = view.mean_logits
    traces = [line(rows, distinct[rows], "distinct tokens", DISTINCT_COLOR)]
    if view.config.common:
        traces.append(line(rows, common[rows], "common tokens", COMMON_COLOR))
    return figure(traces, dict(title=title("Attention logits z", "mean over distinct and over common tokens"),
                               **step_axes("step", "mean z", view.config.steps)))


INVARIANT_FIGURES = {"nc": nc_figure, "weights": weights_figure, "distributions": class_distributions_figure,
                     "unit_weights": unit_weights_figure, "logits": logits_figure, "entropy": entropy_figure}


# ---------------------------------------------------------------- Demo 2: sparse, then dense
def components_figure(view: ReducedView) -> go.Figure:
    """v_l(t) per component, coloured by saliency, with each μ_l dashed (the saturating variant's target)."""
    rows = sampled_steps(view.step)
    mu = view.mu
    span = float(mu.max() - mu.min()) or 1.0
    traces = []
    for i, m in enumerate(mu):
        color = sample_colorscale(VIRIDIS, (m - mu.min()) / span)[0]
        traces.append(line(rows, view.v[rows, i], f"μ = {m:.2f}", color, legendgroup=str(i)))
        if not view.config.linear:
            traces.append(line([0, view.config.steps], [m, m], f"μ = {m:.2f}", color, dash="dash", width=1,
                               legendgroup=str(i), showlegend=False, hoverinfo="skip"))
    heading = title("Components v_l(t)", "colour: saliency μ_l; dashed: μ_l" if not view.config.linear else
                    "colour: saliency μ_l; no saturation: they grow without bound")
    return figure(traces, dict(title=heading, **step_axes("step", "v", view.config.steps), showlegend=False))


def reduced_entropy_figure(view: ReducedView, other: ReducedView | None = None) -> go.Figure:
    """The implied attention's entropy: its minimum marked, the limit and ln(tokens) as lines; ``other``: the
    opposite variant (saturating or linear) on the same μ, dotted, for contrast."""
    rows = sampled_steps(view.step)
    c = view.config
    name = "linear (no saturation)" if c.linear else "with saturation"
    traces = [line(rows, view.entropy[rows], f"entropy, {name}", MEASURED_COLOR, width=2.5)]
    if other is not None:
        other_rows = sampled_steps(other.step)
        other_name = "linear (no saturation)" if other.config.linear else "with saturation"
        traces.append(line(other_rows, other.entropy[other_rows], f"{other_name}, same μ", THEORY_COLOR, dash="dot"))
    saturating = view if not c.linear else other
    if saturating is not None:
        traces.append(line([0, c.steps], [saturating.entropy_limit] * 2,
                           f"limit H(softmax(μ²/T)) = {saturating.entropy_limit:.3f}", THEORY_COLOR, dash="dash",
                           width=1.5))
    low, at = view.entropy_min
    shapes, notes = vertical_marks([Mark(at, f"min {low:.2f} at step {at}", "dot", EVENT_COLOR, y=0.08, side="left")],
                                   x_range=(0, c.steps)) if 0 < at < view.step else ([], [])
    heading = title("Entropy of the implied attention softmax(v²/T)", f"uniform at the start: ln {c.tokens} = "
                    f"{np.log(c.tokens):.3f}")
    return figure(traces, dict(title=heading, shapes=shapes, annotations=notes,
                               **step_axes("step", "entropy (nats)", c.steps, range=[0, np.log(c.tokens) * 1.05])))


def t90_figure(view: ReducedView) -> go.Figure:
    """Steps to reach 90 % of μ_l against μ_l (the components that have)."""
    reached = [(m, t) for m, t in zip(view.mu, view.t90) if t is not None]
    missing = [m for m, t in zip(view.mu, view.t90) if t is None]
    traces = [dict(type="scatter", x=f32([m for m, _ in reached]), y=f32([t for _, t in reached]),
                   mode="markers+lines", name="reached 90 % of μ", marker=dict(size=9, color=MEASURED_COLOR))]
    if missing:
        traces.append(dict(type="scatter", x=f32(missing), y=f32([view.config.steps] * len(missing)), mode="markers",
                           name="not yet", marker=dict(size=9, symbol="triangle-up-open", color=THEORY_COLOR)))
    return figure(traces, dict(title=title("Time to 90 % of μ", "the more salient, the sooner"),
                               xaxis=dict(title=dict(text="saliency μ_l")),
                               yaxis=dict(title=dict(text="steps"), range=[0, view.config.steps * 1.05]),
                               legend=dict(orientation="h", y=-0.3, yanchor="top")))


REDUCED_FIGURES = {"components": components_figure, "entropy": reduced_entropy_figure, "t90": t90_figure}


# ---------------------------------------------------------------- Demo 3: a small transformer
def lm_entropy_figure(view: LMView) -> go.Figure:
    """Each layer's attention entropy against step, its lowest point marked."""
    rows = sampled_steps(view.step)
    traces, marks = [], []
    for layer in range(view.config.layers):
        color = SERIES[layer % len(SERIES)] if view.config.layers > 1 else MEASURED_COLOR
        traces.append(line(rows, view.entropy[rows, layer], f"layer {layer + 1}", color))
        low, at = view.entropy_dip(layer)
        if 0 < at < view.step:
            marks.append(Mark(at, f"min {low:.2f}", "dot", EVENT_COLOR, y=0.08 + 0.08 * layer))
    shapes, notes = vertical_marks(marks, x_range=(0, view.config.steps))
    heading = title("Attention entropy per layer", f"rows of positions ≥ {view.config.length // 2}, mean over the "
                    "batch (nats)")
    return figure(traces, dict(title=heading, shapes=shapes, annotations=notes,
                               **step_axes("step", "entropy (nats)", view.config.steps)))


def lm_loss_figure(view: LMView) -> go.Figure:
    rows = sampled_steps(view.step)
    rows = rows[np.isfinite(view.loss[rows])]
    return figure([line(rows, view.loss[rows], "next-token loss", MEASURED_COLOR)],
                  dict(title=title("Loss", "next-token cross-entropy of each step's fresh batch"),
                       **step_axes("step", "loss (nats)", view.config.steps), showlegend=False))


def lm_rank_figure(view: LMView) -> go.Figure:
    rows = sampled_steps(view.step)
    traces = [line(rows, view.rank[rows, layer], f"layer {layer + 1}", SERIES[layer % len(SERIES)]
                   if view.config.layers > 1 else MEASURED_COLOR) for layer in range(view.config.layers)]
    return figure(traces, dict(title=title("Stable rank of the MLP's input weight", "‖W₁‖_F² / ‖W₁‖₂²"),
                               **step_axes("step", "stable rank", view.config.steps)))


LM_FIGURES = {"entropy": lm_entropy_figure, "loss": lm_loss_figure, "rank": lm_rank_figure}


# ---------------------------------------------------------------- Demo 4: hierarchical latents
LEVEL_COLORS = (DISTINCT_COLOR, COMMON_COLOR)


def hier_correlation_figure(view: HierView) -> go.Figure:
    """Per level, the mean best unit-latent correlation against step, with its value at initialisation dashed, and
    the level-0 chance level (the same metric for decoy latents) dotted."""
    traces = []
    for level in range(view.correlation.shape[1]):
        color = LEVEL_COLORS[level % 2]
        traces.append(dict(type="scatter", x=f32(view.eval_steps), y=f32(view.correlation[:, level]),
                           mode="lines+markers", name=f"level {level} (block {level + 1})",
                           line=dict(color=color, width=2), marker=dict(size=5)))
        traces.append(line([0, view.config.steps], [view.correlation[0, level]] * 2, f"level {level} at init",
                           color, dash="dash", width=1))
    traces.append(dict(type="scatter", x=f32(view.eval_steps), y=f32(view.chance), mode="lines",
                       name="level 0 chance (decoy latents)", line=dict(color=THEORY_COLOR, width=1.5, dash="dot")))
    heading = title("Do MLP units track the latents?", "per level: best unit-latent Pearson correlation, mean over "
                    "latents")
    low = np.nanmin(np.r_[view.correlation.ravel(), view.chance, 0.55])  # the interesting band is near the top
    return figure(traces, dict(title=heading, **step_axes("step", "correlation", view.config.steps,
                                                      range=[float(np.floor(20 * low)) / 20 - 0.05, 1.02])))


def hier_latents_figure(view: HierView) -> go.Figure:
    """Each latent's best correlation with one unit of its level's block (latest evaluation)."""
    traces = []
    for level, (best, unit) in enumerate(view.per_latent):
        shown = np.flatnonzero(np.isfinite(best))  # latents never (or always) active have no correlation
        traces.append(dict(type="bar", x=[f"L{level}·{i}" for i in shown], y=f32(best[shown]),
                           name=f"level {level}", marker=dict(color=LEVEL_COLORS[level % 2]), customdata=unit[shown],
                           hovertemplate="latent %{x}: correlation %{y:.3f} with unit %{customdata}<extra></extra>"))
    step = int(view.eval_steps[-1]) if view.eval_steps.size else 0
    return figure(traces, dict(title=title(f"Each latent's best-matching unit (step {step})",
                                           "latents that are active in some samples only; hover for the unit"),
                               xaxis=dict(title=dict(text="latent"), tickangle=-90),
                               yaxis=dict(title=dict(text="correlation"), range=[0, 1.02]),
                               legend=dict(orientation="h", y=-0.35, yanchor="top")))


def latent_unit_figure(view: HierView, level: int, latent: int) -> go.Figure:
    """A chosen latent and its best-matching unit: the unit's (max-pooled) activation on the evaluation samples
    where the latent is active and where it is not."""
    unit, corr, on, off = view.latent_unit(level, latent)
    traces = [dict(type="box", y=f32(values), name=name, marker=dict(color=color, size=4), boxpoints="all",
                   jitter=0.4, pointpos=0)
              for values, name, color in ((on, f"latent active ({on.size})", LEVEL_COLORS[level % 2]),
                                          (off, f"inactive ({off.size})", THEORY_COLOR)) if values.size]
    step = int(view.eval_steps[-1]) if view.eval_steps.size else 0
    return figure(traces, dict(title=title(f"Level-{level} latent {latent} and its best unit, {unit} "
                                           f"(block {level + 1})", f"correlation {corr:.3f} at step {step}; "
                                           "activations max-pooled over positions"),
                               yaxis=dict(title=dict(text=f"unit {unit} activation")), showlegend=False))


def hier_loss_figure(view: HierView) -> go.Figure:
    rows = sampled_steps(view.step)
    rows = rows[np.isfinite(view.loss[rows])]
    return figure([line(rows, view.loss[rows], "classification loss", MEASURED_COLOR)],
                  dict(title=title("Loss", "cross-entropy of each step's batch"),
                       **step_axes("step", "loss (nats)", view.config.steps), showlegend=False))


HIER_FIGURES = {"correlation": hier_correlation_figure, "latents": hier_latents_figure, "loss": hier_loss_figure}

