"""One run as an animation (issue 17): the attention heatmap and the logit trajectories of one query row in
sync, frame by frame, with the SGD theory's t0′ / t0 and the measured scan peak and snap appearing once a
frame reaches them (docs/THEORY.md §5, §6, §10).  Plotly's own frames, play/pause and slider, so the
figure written with plotly.js embedded plays offline."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import plotly.graph_objects as go

from ...lab import figure_style as style
from ...lab.animation import playable, video_stills, write_animation as write_files
from ..results import RunData
from .run import _phase_marks, attention_heatmap, logit_trajectories

__all__ = ["animation_figure", "animation_steps", "still_frames", "write_animation"]

#: the two panels' share of the width (heatmap | trajectories)
_LEFT, _RIGHT = (0.0, 0.44), (0.56, 1.0)


def animation_steps(data: RunData, frames: int) -> list[int]:
    """The recorded steps the frames show: at most ``frames``, evenly spread, always the first and the last."""
    steps = [int(s) for s in data.steps]
    if len(steps) <= frames:
        return steps
    picks = np.unique(np.linspace(0, len(steps) - 1, frames).round().astype(int))
    return [steps[i] for i in picks]


def _parts(data: RunData, steps: list[int], query: int) -> tuple[dict, list[tuple[list, dict]]]:
    """The layout every frame shares (axes fixed to the whole run) and each step's traces and marks."""
    records = {r.step: r for r in data.records}
    last = float(max(steps[-1], 1))
    all_logits = logit_trajectories(data, query=query)
    z = np.concatenate([np.asarray(t.y, dtype=float) for t in all_logits.data])
    z_range = [float(np.nanmin(z)), float(np.nanmax(z))] if np.isfinite(z).any() else [-1.0, 1.0]
    pad = 0.05 * max(z_range[1] - z_range[0], 1e-3)
    c_max = float(max(np.nanmax(records[s].attention[data.run]) for s in steps))

    def frame_parts(step: int) -> tuple[list, dict]:
        heat = attention_heatmap(data, records[step])
        seen = data.upto(step)
        lines = logit_trajectories(seen, query=query)
        heat_trace = heat.data[0].to_plotly_json() | dict(xaxis="x", yaxis="y", zmax=c_max,
                                                          colorbar=dict(title=dict(text="c_n"), x=_LEFT[1] + 0.01))
        line_traces = [t.to_plotly_json() | dict(xaxis="x2", yaxis="y2") for t in lines.data]
        marks, notes = _phase_marks(seen, float(max(step, 1)), xref="x2")  # marks and shading appear when reached
        shapes = [s.to_plotly_json() for s in heat.layout.shapes] + marks
        title = f"Attention c_n (left) and logits z_ml of query {query + 1} (right), step {step}"
        return [heat_trace, *line_traces], dict(shapes=shapes, annotations=notes, title=dict(text=title))

    parts = [frame_parts(step) for step in steps]
    layout = dict(
        parts[0][1],
        xaxis=dict(attention_heatmap(data, records[steps[0]]).layout.xaxis.to_plotly_json(), domain=_LEFT),
        yaxis=dict(autorange="reversed"),
        xaxis2=dict(domain=_RIGHT, range=[0, last], title=dict(text="step"), anchor="y2"),
        yaxis2=dict(range=[z_range[0] - pad, z_range[1] + pad], title=dict(text="z_ml"), anchor="x2"),
        showlegend=True, legend=dict(orientation="h", x=_RIGHT[1], xanchor="right", y=1.0, yanchor="bottom"),
    )
    return layout, parts


def animation_figure(data: RunData, frames: int = 60, seconds: float = 10.0, query: int = 0) -> go.Figure:
    """The run in ``frames`` frames (at most; one per shown record) playing in ``seconds``: c_n of every class
    (left, one colour scale for the whole run) and z_ml of query ``query`` up to the frame's step (right, axes
    fixed to the whole run).  Play/pause buttons and a step slider."""
    steps = animation_steps(data, frames)
    layout, parts = _parts(data, steps, query)
    figure = style.figure(parts[0][0], layout | dict(margin=dict(l=70, r=30, t=80)))
    return playable(figure, [(str(step), traces, frame_layout) for step, (traces, frame_layout) in zip(steps, parts)],
                    seconds)


def still_frames(data: RunData, frames: int = 60, query: int = 0) -> list[go.Figure]:
    """The animation's frames as separate figures laid out for a 1920 x 1080 video (talk-sized fonts, no
    controls): what :func:`scansnap_core.lab.video.write_video` renders."""
    steps = animation_steps(data, frames)
    layout, parts = _parts(data, steps, query)
    return video_stills([style.figure(traces, layout | frame_layout) for traces, frame_layout in parts])


def write_animation(data: RunData, folder: Path, fmt: str, seconds: float, frames: int = 60,
                    progress: Callable[[int, int], None] | None = None, query: int = 0) -> str:
    """Write ``animation.{fmt}`` (html, mp4 or gif) of the run, logits of query ``query``, into ``folder``;
    returns a one-line description."""
    return write_files(folder, fmt, seconds, frames, lambda count, secs: animation_figure(data, count, secs, query),
                       lambda count: still_frames(data, count, query), progress)
