"""Animations of any study's run, for talks (issue 17): an offline HTML with play/pause and a step slider, or a
video (scansnap_core.lab.video).  A study either builds its own frames (Scan & Snap's heatmap beside its
logits) or animates one of its figure builders over a view's ``upto(step)`` replays: the frames then share
the axes of the whole run, so nothing jumps while it plays."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go

from . import figure_style as style
from .video import video_frame_count, write_video

__all__ = ["ANIMATION_FORMATS", "VIDEO_ENLARGEMENT", "fixed_ranges", "frame_steps", "playable", "video_stills",
           "view_frames", "write_animation", "write_view_animation"]

ANIMATION_FORMATS = ("html", "mp4", "gif")
#: fonts and lines on a 1920 x 1080 video frame, relative to the figure on a page
VIDEO_ENLARGEMENT = 1.6
_VIDEO_MARGIN = dict(l=110, r=50, t=110, b=90)


def frame_steps(last: int, frames: int, first: int = 0) -> list[int]:
    """At most ``frames`` steps from ``first`` to ``last``, evenly spread, both ends included."""
    if last - first + 1 <= frames:
        return list(range(first, last + 1))
    return [int(s) for s in np.unique(np.linspace(first, last, frames).round().astype(int))]


def playable(figure: go.Figure, frames: Sequence[tuple[str, list, dict]], seconds: float) -> go.Figure:
    """``figure`` with plotly frames ``(name, traces, layout changes)``, Play/Pause buttons and a slider that
    plays them all in ``seconds``; the figure's bottom margin makes room for the controls.  The frames are padded
    (:func:`_padded`), so a series or a mark shows in exactly the frames that have it, played or scrubbed."""
    frames = _padded(frames)
    ms = max(20, int(seconds * 1000 / max(len(frames), 1)))
    play = dict(frame=dict(duration=ms, redraw=True), transition=dict(duration=0), fromcurrent=True, mode="immediate")
    figure = go.Figure(figure, skip_invalid=not style.VALIDATE, _validate=style.VALIDATE)
    figure.data = []
    figure.add_traces(frames[0][1])
    figure.update_layout(
        frames[0][2],
        margin=dict(b=120),
        updatemenus=[dict(type="buttons", direction="left", x=0, xanchor="left", y=-0.12, yanchor="top",
                          showactive=False,
                          buttons=[dict(label="▶ Play", method="animate", args=[None, play]),
                                   dict(label="❚❚ Pause", method="animate",
                                        args=[[None], dict(play, frame=dict(duration=0, redraw=False))])])],
        sliders=[dict(active=0, x=0.12, len=0.88, y=-0.1, yanchor="top",
                      currentvalue=dict(prefix="step ", font=dict(size=14)), font=dict(size=9),
                      steps=[dict(label=name, method="animate",
                                  args=[[name], dict(play, frame=dict(duration=0, redraw=True))])
                             for name, _, _ in frames])],
    )
    figure.frames = [go.Frame(name=name, data=traces, layout=layout) for name, traces, layout in frames]
    return figure


def _plain(item) -> dict:
    return item.to_plotly_json() if hasattr(item, "to_plotly_json") else dict(item)


def _padded(frames: Sequence[tuple[str, list, dict]]) -> list[tuple[str, list, dict]]:
    """Every frame with as many traces, shapes and annotations as the fullest one: plotly merges a frame into
    the figure item by item, so an item a frame lacks would stay from the frame before, and a padding item
    hidden once would stay hidden.  Real items are made visible explicitly, padding items hidden."""
    def visible(items) -> list[dict]:
        return [{**_plain(item), "visible": _plain(item).get("visible", True)} for item in items or []]

    widest = max((traces for _, traces, _ in frames), key=len)
    shapes = max(len(layout.get("shapes") or []) for _, _, layout in frames)
    notes = max(len(layout.get("annotations") or []) for _, _, layout in frames)
    out = []
    for name, traces, layout in frames:
        layout = {key: _plain(value) if hasattr(value, "to_plotly_json") else value for key, value in layout.items()}
        own_shapes, own_notes = visible(layout.get("shapes")), visible(layout.get("annotations"))
        out.append((name,
                    visible(traces) + [dict(type=_plain(t).get("type", "scatter"), visible=False)
                                       for t in widest[len(traces):]],
                    {**layout,
                     "shapes": own_shapes + [dict(type="line", x0=0, x1=0, y0=0, y1=0, visible=False)] * (
                         shapes - len(own_shapes)),
                     "annotations": own_notes + [dict(text="", showarrow=False, visible=False)] * (
                         notes - len(own_notes))}))
    return out


def _numbers(values) -> np.ndarray | None:
    """``values`` as floats, or None where they are not numbers (categories, dates)."""
    if values is None:
        return None
    try:
        out = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        return None
    return out[np.isfinite(out)]


def _axis(figures: Sequence[go.Figure], name: str):
    """The axis ``name`` as the last frame that has it lays it out (None if none does)."""
    for fig in reversed(figures):
        try:
            if fig.layout[name] is not None:
                return fig.layout[name]
        except (KeyError, ValueError):  # plotly's PlotlyKeyError for a subplot axis a frame lacks
            continue
    return None


def fixed_ranges(figures: Sequence[go.Figure]) -> None:
    """Give every frame the same axis ranges and every heatmap the same colour range, in place: the range the
    last frame's builder set (it saw the whole run), else the union of all frames' data with 4 % padding (in
    log10 on a log axis).  Reversed, categorical and date axes keep theirs, as do axes of stacked bars,
    histograms and traces without numbers on them."""
    values: dict[str, list[np.ndarray]] = {}
    skipped: set[str] = set()
    colour: dict[int, list[float]] = {}
    for fig in figures:
        stacked = fig.layout.barmode in ("stack", "relative")
        for i, trace in enumerate(fig.data):
            if trace.type == "heatmap":
                z = _numbers(trace.z)
                if z is not None and z.size and trace.zmin is None and trace.zmax is None:
                    lo, hi = colour.setdefault(i, [np.inf, -np.inf])
                    colour[i] = [min(lo, z.min()), max(hi, z.max())]
                continue
            for letter in ("x", "y"):
                ref = getattr(trace, f"{letter}axis", None) or letter
                name = f"{letter}axis{ref[1:]}"
                numbers = _numbers(getattr(trace, letter, None))
                value_axis = trace.type == "bar" and letter == ("x" if trace.orientation == "h" else "y")
                if numbers is None or trace.type not in ("scatter", "scattergl", "bar") or (value_axis and stacked):
                    skipped.add(name)
                    continue
                values.setdefault(name, []).append(np.append(numbers, 0.0) if value_axis else numbers)
    for name, parts in values.items():
        axis = _axis(figures, name)
        if name in skipped or axis is None or axis.autorange == "reversed" or axis.type in ("category", "date"):
            continue
        data = np.concatenate(parts)
        data = np.log10(data[data > 0]) if axis.type == "log" else data
        if axis.range is not None:
            shown = list(axis.range)  # a builder's own, at the end of the run
        elif data.size:
            lo, hi = float(data.min()), float(data.max())
            pad = 0.04 * (hi - lo) if hi > lo else 0.5
            shown = [lo - pad, hi + pad]
        else:
            continue
        for fig in figures:
            fig.layout[name].update(range=shown, autorange=False)
    for i, (lo, hi) in colour.items():
        for fig in figures:
            if i < len(fig.data) and fig.data[i].type == "heatmap":
                fig.data[i].update(zmin=lo, zmax=hi)


def view_frames(view: Any, build: Callable[[Any], go.Figure], frames: int) -> tuple[list[int], list[go.Figure]]:
    """A view's figure at up to ``frames`` steps of its run (``build(view.upto(step))``, from step 1), with the
    axes and colour ranges of the whole run."""
    steps = frame_steps(int(view.step), frames, first=min(1, int(view.step)))
    figures = [build(view.upto(step)) for step in steps]
    for step, fig in zip(steps, figures):  # the step after the title's first line (before any subtitle)
        head, br, rest = (fig.layout.title.text or "").partition("<br>")
        if not re.search(rf"\bstep {step}\b", head):
            fig.update_layout(title_text=f"{head} · step {step}".lstrip(" ·") + br + rest)
    fixed_ranges(figures)
    return steps, figures


def video_stills(figures: list[go.Figure]) -> list[go.Figure]:
    """Frames laid out for a 1920 x 1080 video: talk-sized fonts and lines, no controls."""
    return [style.enlarged(fig.update_layout(margin=_VIDEO_MARGIN), VIDEO_ENLARGEMENT) for fig in figures]


def write_animation(folder: Path, fmt: str, seconds: float, frames: int,
                    html_figure: Callable[[int, float], go.Figure], stills: Callable[[int], list[go.Figure]],
                    progress: Callable[[int, int], None] | None = None) -> str:
    """Write ``animation.{fmt}`` into ``folder``: html from ``html_figure(frames, seconds)`` with plotly.js
    embedded, mp4/gif from ``stills(frames)`` (a video shows at most one distinct frame per video frame);
    returns a one-line description."""
    path = Path(folder) / f"animation.{fmt}"
    if fmt == "html":
        figure = html_figure(frames, seconds)
        figure.write_html(path, include_plotlyjs=True, auto_play=False, config=dict(displaylogo=False))
        return f"Wrote {path}: {len(figure.frames)} frames in {seconds:g} s, plotly.js embedded (plays offline)"
    facts = write_video(stills(min(frames, video_frame_count(fmt, seconds))), path, fmt, seconds, progress)
    rate = f" at {facts['fps']} fps" if facts["fps"] else ", each held equally"
    return (f"Wrote {path}: {facts['width']}x{facts['height']}, {facts['frames']} frames{rate} "
            f"({facts['seconds']:g} s), {facts['distinct']} distinct steps, {facts['bytes'] / 1e6:.1f} MB")


def write_view_animation(view: Any, build: Callable[[Any], go.Figure], folder: Path, fmt: str, seconds: float,
                         frames: int, progress: Callable[[int, int], None] | None = None) -> str:
    """:func:`write_animation` of one figure builder over a study view's run (:func:`view_frames`)."""
    def html_figure(count: int, secs: float) -> go.Figure:
        steps, figures = view_frames(view, build, count)
        return playable(figures[-1], [(str(step), list(fig.data), dict(title=fig.layout.title, shapes=fig.layout.shapes,
                                                                      annotations=fig.layout.annotations))
                                      for step, fig in zip(steps, figures)], secs)

    return write_animation(folder, fmt, seconds, frames, html_figure,
                           lambda count: video_stills(view_frames(view, build, count)[1]), progress)
