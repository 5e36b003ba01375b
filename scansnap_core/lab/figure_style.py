"""What every study's figures share: the palette, the template, float32 payloads, figure construction
and vertical time marks (phase and event markers).  Colours are colour-blind safe: a perceptual sequential scale (viridis) for
attention, a diverging scale centred at 0 for logits and differences, the Okabe–Ito palette for
categories."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Sequence

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

__all__ = ["DIVERGING", "EVENT_COLOR", "ExportStyle", "LABEL_CHAR_WIDTH", "LAYOUT", "Mark", "RATE_CHANGE_COLOR", "SERIES",
           "TEMPLATE", "THEORY_COLOR", "VALIDATE", "VIRIDIS", "enlarged", "export_layout", "f32", "figure", "line", "sampled_steps",
           "step_axes", "title", "vertical_marks"]

#: Okabe–Ito bluish green for the measured events (scan peak, snap), apart from the grey theory marks
EVENT_COLOR = "#009E73"
#: Okabe–Ito reddish purple for learning-rate changes made during a run
RATE_CHANGE_COLOR = "#CC79A7"
#: colours for a series of categories (classes, rates): none of them is a colour with a meaning of its own
#: (the events' green, the rate changes' purple, a study's concept colours such as Scan & Snap's blue distinct and
#: vermillion common tokens, the theory's greys), so one colour means one concept in every figure
SERIES = ["#E69F00", "#000000", "#8C510A", "#5E3C99", "#56B4E9", "#01665E", "#F0E442", "#B8B8B8"]
#: the SGD theory's curves and marks
THEORY_COLOR = "#333333"
#: a diverging scale for differences (A − B): brown where the first is higher, teal where the second is
DIVERGING = [[0.0, "#01665E"], [0.5, "#FFFFFF"], [1.0, "#8C510A"]]

LAYOUT = dict(font=dict(size=14), margin=dict(l=60, r=20, t=60, b=50))
TEMPLATE = pio.templates["plotly_white"].to_plotly_json()
VIRIDIS = [[0.0, "#440154"], [0.25, "#3b528b"], [0.5, "#21918c"], [0.75, "#5ec962"], [1.0, "#fde725"]]
#: validate figure specs on construction (slow; the tests switch it on)
VALIDATE = False


def enlarged(fig: go.Figure, factor: float) -> go.Figure:
    """A copy of ``fig`` with every font, line and marker ``factor`` times larger: the same figure read from the
    back of a lecture hall (the presentation view) or on a 1080p video frame.  Colours and data are unchanged."""
    big = go.Figure(fig, skip_invalid=not VALIDATE, _validate=VALIDATE)

    def grown(value, default: float) -> float:  # an explicit 0 (no line) stays 0
        return round(float(default if value is None else value) * factor, 2)

    big.layout.font.size = grown(big.layout.font.size, LAYOUT["font"]["size"])
    if big.layout.title.font.size:
        big.layout.title.font.size = grown(big.layout.title.font.size, 0)
    for note in big.layout.annotations:
        if note.font.size:
            note.font.size = grown(note.font.size, 0)
    for shape in big.layout.shapes:
        shape.line.width = grown(shape.line.width, 2)
    for trace in big.data:
        if trace.type in ("scatter", "scattergl"):
            if "lines" in (trace.mode or "lines"):
                trace.line.width = grown(trace.line.width, 2)
            if isinstance(trace.marker.size, (int, float)):
                trace.marker.size = grown(trace.marker.size, 0)
    return big


def f32(values) -> np.ndarray:
    """float32 for the browser: plotly ships numpy arrays as base64, half the bytes of float64."""
    return np.asarray(values, dtype=np.float32)


def figure(traces: list[dict], layout: dict) -> go.Figure:
    """One Figure from plain trace and layout dicts.  Validation is off (it costs ~50–150 ms per
    figure, too slow for several live refreshes a second); the tests build every figure with
    ``VALIDATE = True`` to keep the specs honest."""
    full = {**LAYOUT, "template": TEMPLATE, **layout}
    return go.Figure(data=traces, layout=full, _validate=VALIDATE)


#: points a time series sends to the browser at most (longer runs are sampled; the live charts stay light)
MAX_POINTS = 600


def sampled_steps(last: int, log_axis: bool = False) -> np.ndarray:
    """The steps 0..``last`` a time series shows: all of them up to MAX_POINTS, else evenly spaced ones
    (geometrically on a log axis, so the early steps keep their detail), always with the first and the last."""
    if last < MAX_POINTS:
        return np.arange(last + 1)
    spaced = np.geomspace(1, last, MAX_POINTS) if log_axis else np.linspace(0, last, MAX_POINTS)
    return np.unique(np.concatenate([[0], spaced.astype(int), [last]]))


def step_axes(x: str, y: str, right: int, **y_extra) -> dict:
    """Layout of a chart against training steps 0..``right`` (the whole run's width from the first step, so a
    live chart fills in rather than rescales), its y title and options, the legend below."""
    return dict(xaxis=dict(title=dict(text=x), range=[0, max(right, 1)]), yaxis=dict(title=dict(text=y), **y_extra),
                legend=dict(orientation="h", y=-0.3, yanchor="top"))


def title(main: str, note: str = "") -> dict:
    """A figure title that fits a half-width chart on a laptop: the note (what is left out, a caveat) goes on a
    smaller second line instead of running past the chart's edge."""
    return dict(text=f"{main}<br><sup>{note}</sup>" if note else main)


def line(x, y, name: str, color: str, dash: str = "solid", width: float = 2.0, **extra) -> dict:
    return dict(type="scatter", x=f32(x), y=f32(y), mode="lines", name=name,
                line=dict(color=color, dash=dash, width=width), **extra)


class Mark(NamedTuple):
    """A vertical line at ``x`` with an optional label at height ``y`` (paper units), anchored on
    the line's ``side``."""

    x: float
    label: str
    dash: str
    color: str
    y: float = 1.0
    side: str = "left"


#: a label's width per character, as a share of the plot's width (12 px text on a half-width chart on a laptop, a
#: plot area about 320 px wide: generous, so labels never overlap in the narrowest chart)
LABEL_CHAR_WIDTH = 0.022
#: vertical distance between label rows (paper units)
LABEL_ROW = 0.075


def vertical_marks(marks: Sequence[Mark], xref: str = "x", log_axis: bool = False,
                   x_range: tuple[float, float] | None = None,
                   panel_width: float = 1.0) -> tuple[list[dict], list[dict]]:
    """Shapes (full-height lines) and annotations (labels) for ``marks``.  On a log axis shapes take
    data values and annotations log10 of them (plotly's convention).  With the axis' ``x_range`` a label
    that would overlap another at its height moves a row down (top labels) or up (bottom labels);
    ``panel_width`` is the axis' share of the figure's width (a subplot's)."""
    if x_range is not None:
        marks, rows = _placed(marks, log_axis, x_range, panel_width)
    else:
        rows = [0] * len(marks)
    shapes, notes = [], []
    for m, row in zip(marks, rows):
        shapes.append(dict(type="line", xref=xref, yref="paper", x0=m.x, x1=m.x, y0=0, y1=1,
                           line=dict(color=m.color, width=1.5, dash=m.dash)))
        if m.label:
            top = m.y > 0.5
            notes.append(dict(text=m.label, x=float(np.log10(m.x)) if log_axis else m.x,
                              y=m.y - row * LABEL_ROW if top else m.y + row * LABEL_ROW, xref=xref, yref="paper",
                              showarrow=False, xanchor=m.side, yanchor="top" if top else "bottom",
                              font=dict(size=12, color=m.color), bgcolor="rgba(255,255,255,0.7)"))
    return shapes, notes


def _placed(marks: Sequence[Mark], log_axis: bool, x_range: tuple[float, float],
            panel_width: float) -> tuple[list[Mark], list[int]]:
    """Each mark with its label turned to the side where it stays inside the axis, and the label's row
    (0 = at its height): from left to right, the first row where the label's estimated span overlaps no
    label placed before it at the same side (top or bottom)."""
    lo, hi = (float(np.log10(max(v, 1e-12))) for v in x_range) if log_axis else x_range
    taken: dict[tuple[bool, int], list[tuple[float, float]]] = {}
    placed, rows = list(marks), [0] * len(marks)
    for i in sorted(range(len(marks)), key=lambda i: marks[i].x):
        m = marks[i]
        if not m.label:
            continue
        x = float(np.log10(m.x)) if log_axis else m.x
        at = (x - lo) / (hi - lo) if hi > lo else 0.0
        width = LABEL_CHAR_WIDTH * len(m.label) / panel_width
        side = "left" if at - width < 0 else "right" if at + width > 1 else m.side
        span = (at, at + width) if side == "left" else (at - width, at)
        top, row = m.y > 0.5, 0
        while any(a < span[1] and span[0] < b for a, b in taken.get((top, row), [])):
            row += 1
        taken.setdefault((top, row), []).append(span)
        placed[i], rows[i] = m._replace(side=side), row
    return placed, rows


@dataclass(frozen=True)
class ExportStyle:
    """How a figure is exported for slides and papers, whatever the window it is shown in: a fixed size
    in CSS pixels, a scale for PNG (2 = twice the pixels), the base font size and whether titles show."""

    width: int = 1600
    height: int = 900
    scale: int = 2
    font_size: int = 16
    titles: bool = True


def export_layout(fig: go.Figure, style: ExportStyle) -> dict:
    """Layout changes that turn ``fig`` as shown into ``fig`` as exported with ``style`` (the figure pack
    applies them in Python, the charts' download buttons in the browser)."""
    title = fig.layout.title.text if style.titles and fig.layout.title.text else ""
    top = LAYOUT["margin"]["t"] if title else 30
    return dict(width=style.width, height=style.height, font=dict(size=style.font_size),
                title=dict(text=title, font=dict(size=round(style.font_size * 1.25))),
                margin={**LAYOUT["margin"], "t": top})
