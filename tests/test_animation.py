"""Animations of any study's charts (issue 17): frames on the whole run's axes, played offline."""

from dataclasses import dataclass, replace

import numpy as np
import plotly.graph_objects as go
import pytest

from scansnap_core.lab.animation import fixed_ranges, frame_steps, playable, view_frames, write_view_animation


def test_frame_steps_spread_evenly_and_keep_both_ends():
    assert frame_steps(100, 5) == [0, 25, 50, 75, 100]
    assert frame_steps(3, 10) == [0, 1, 2, 3] and frame_steps(400, 4, first=1) == [1, 134, 267, 400]


def test_fixed_ranges_take_the_union_or_the_last_frames_own_range_and_one_colour_scale():
    early = go.Figure([go.Scatter(x=[0, 1], y=[0.0, 1.0]), go.Heatmap(z=[[0.0, 0.5]])])
    late = go.Figure([go.Scatter(x=[0, 1, 2, 3], y=[0.0, 1.0, 3.0, 2.0]), go.Heatmap(z=[[-1.0, 0.2]])],
                     layout=dict(xaxis=dict(range=[0, 10])))
    reversed_axis = [go.Figure(go.Scatter(x=[0], y=[v]), layout=dict(yaxis=dict(autorange="reversed")))
                     for v in (1.0, 5.0)]
    fixed_ranges([early, late])
    fixed_ranges(reversed_axis)
    for fig in (early, late):
        assert list(fig.layout.xaxis.range) == [0, 10]  # the last frame's builder set it for the whole run
        assert list(fig.layout.yaxis.range) == pytest.approx([-0.12, 3.12])  # 0..3 with 4 % padding
        assert (fig.data[1].zmin, fig.data[1].zmax) == (-1.0, 0.5)
    assert all(f.layout.yaxis.range is None and f.layout.yaxis.autorange == "reversed" for f in reversed_axis)
    logs = [go.Figure(go.Scatter(x=[1, 2], y=[1, top]), layout=dict(yaxis=dict(type="log"))) for top in (10, 1000)]
    fixed_ranges(logs)
    assert all(list(f.layout.yaxis.range) == pytest.approx([-0.12, 3.12]) for f in logs)  # log10 units
    stacked = [go.Figure([go.Bar(x=[0], y=[v]), go.Bar(x=[0], y=[v])], layout=dict(barmode="stack")) for v in (1, 2)]
    fixed_ranges(stacked)
    assert all(f.layout.yaxis.range is None for f in stacked)  # the union of bars is not the stack's height


@dataclass(frozen=True)
class GrowingView:
    """A stand-in study view: one more series every 10 steps, each rising with the step."""

    step: int

    def upto(self, step: int) -> "GrowingView":
        return replace(self, step=step)


def growing(view: GrowingView) -> go.Figure:
    steps = np.arange(view.step + 1)
    return go.Figure([go.Scatter(x=steps, y=steps * (k + 1), name=f"s{k}") for k in range(view.step // 10 + 1)],
                     layout=dict(title=dict(text="Growth<br><sup>a subtitle</sup>")))


def test_a_views_frames_replay_its_run_on_the_whole_runs_axes():
    steps, frames = view_frames(GrowingView(40), growing, 5)
    assert steps == [1, 11, 20, 30, 40]  # 1 + 39 k / 4, rounded
    assert frames[2].layout.title.text == "Growth · step 20<br><sup>a subtitle</sup>"
    assert {tuple(f.layout.yaxis.range) for f in frames} == {(-8.0, 208.0)}  # y up to 5 x 40, padded
    assert [len(f.data) for f in frames] == [1, 2, 3, 4, 5]


def test_the_html_animation_writes_every_frame(tmp_path):
    line = write_view_animation(GrowingView(40), growing, tmp_path, "html", seconds=2, frames=5)
    assert "5 frames in 2 s" in line
    html = (tmp_path / "animation.html").read_text()
    assert all(f'"name":"{step}"' in html for step in (1, 11, 20, 30, 40))


def test_every_frame_names_every_series_and_mark_so_none_lingers_or_stays_hidden():
    """plotly merges a frame into the figure item by item: a frame must show or hide every trace, shape and
    annotation any frame has (checked by playing back and forth in Chromium in test_figures_export.py)."""
    line = dict(type="line", x0=1, x1=1, y0=0, y1=1)
    frames = [(str(k), [go.Scatter(y=[0, j]) for j in range(k + 1)],
               dict(shapes=[line] * k, annotations=[dict(text=f"mark {j}") for j in range(k)])) for k in range(3)]
    fig = playable(go.Figure(), frames, seconds=3)
    for k, frame in enumerate(fig.frames):
        assert [t.visible for t in frame.data] == [True] * (k + 1) + [False] * (2 - k)
        assert [s.visible for s in frame.layout.shapes] == [True] * k + [False] * (2 - k)
        assert [a.visible for a in frame.layout.annotations] == [True] * k + [False] * (2 - k)
    assert [t.visible for t in fig.data] == [True, False, False] and len(fig.layout.shapes) == 2
