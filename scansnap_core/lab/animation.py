"""Animations of any study's run, for talks (issue 17): an offline HTML with play/pause and a step slider, or a
video (scansnap_core.lab.video).  A study either builds its own frames (Scan & Snap's heatmap beside its
logits) or animates one of its figure builders over a view's ``upto(step)`` replays: the frames then share
the axes of the whole run, so nothing jumps while it plays."""

from __future__ import annotations

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
    plays them all in ``seconds``; the figure's bottom margin makes room for the controls."""
    ms = max(20, int(seconds * 1000 / max(len(frames), 1)))
    play = dict(frame=dict(duration=ms, redraw=True), transition=dict(duration=0), fromcurrent=True, mode="immediate")
    figure.update_layout(
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


def _numbers(values) -> np.ndarray | None:
    """``values`` as floats, or None where they are not numbers (categories, dates)."""
    if values is None:
        return None
    try:
        out = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        return None
    return out[np.isfinite(out)]


def fixed_ranges(figures: Sequence[go.Figure]) -> None:
    """Give every frame the same axis ranges and every heatmap the same colour range, in place: the range the
    last frame's builder set (it saw the whole run), else the union of all frames' data with 4 % padding.
    Reversed, categorical and date axes keep theirs."""
    spans: dict[str, list[float]] = {}
    skipped: set[str] = set()
    colour: dict[int, list[float]] = {}
    for fig in figures:
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
                values = _numbers(getattr(trace, letter, None))
                if values is None:
                    skipped.add(name)
                    continue
                if fig.layout[name].type == "log":
                    values = np.log10(values[values > 0])
                if trace.type == "bar" and letter == ("y" if trace.orientation != "h" else "x"):
                    values = np.append(values, 0.0)
                if values.size:
                    lo, hi = spans.setdefault(name, [np.inf, -np.inf])
                    spans[name] = [min(lo, values.min()), max(hi, values.max())]
    last = figures[-1].layout if figures else None
    for name, (lo, hi) in spans.items():
        axis = last[name]
        if name in skipped or axis.autorange == "reversed" or axis.type in ("category", "date"):
            continue
        pad = 0.04 * (hi - lo) if hi > lo else 0.5
        shown = list(axis.range) if axis.range is not None else [lo - pad, hi + pad]  # a builder's own, at the end
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
        if f"step {step}" not in head:
            fig.update_layout(title_text=f"{head} · step {step}".lstrip(" ·") + br + rest)
    fixed_ranges(figures)
    return steps, figures


def video_stills(figures: list[go.Figure]) -> list[go.Figure]:
    """Frames laid out for a 1920 x 1080 video: talk-sized fonts and lines, no controls."""
    return [style.enlarged(fig.update_layout(margin=_VIDEO_MARGIN), VIDEO_ENLARGEMENT) for fig in figures]


def _padded(figures: list[go.Figure]) -> list[list]:
    """Every frame's traces, padded with hidden ones to the most any frame has (a frame updates only the traces
    it names, so a missing one would stay from the frame before)."""
    widest = max(figures, key=lambda f: len(f.data))
    return [list(fig.data) + [dict(type=t.type, visible=False) for t in widest.data[len(fig.data):]]
            for fig in figures]


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
    return (f"Wrote {path}: {facts['width']}x{facts['height']}, {facts['frames']} frames at {facts['fps']} fps "
            f"({facts['seconds']:g} s), {facts['distinct']} distinct steps, {facts['bytes'] / 1e6:.1f} MB")


def write_view_animation(view: Any, build: Callable[[Any], go.Figure], folder: Path, fmt: str, seconds: float,
                         frames: int, progress: Callable[[int, int], None] | None = None) -> str:
    """:func:`write_animation` of one figure builder over a study view's run (:func:`view_frames`)."""
    def html_figure(count: int, secs: float) -> go.Figure:
        steps, figures = view_frames(view, build, count)
        padded = _padded(figures)
        base = go.Figure(data=padded[0], layout=figures[0].layout)
        return playable(base, [(str(step), traces, dict(title=fig.layout.title, shapes=fig.layout.shapes,
                                                        annotations=fig.layout.annotations))
                               for step, traces, fig in zip(steps, padded, figures)], secs)

    return write_animation(folder, fmt, seconds, frames, html_figure,
                           lambda count: video_stills(view_frames(view, build, count)[1]), progress)
