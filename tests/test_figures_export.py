"""Figure builders (pure data -> plotly Figure) and the figure pack (real files via kaleido)."""

import dataclasses
import io
import json
import re
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scansnap_core.scan_snap.config import RunConfig
from scansnap_core.scan_snap.engine import Engine
from scansnap_core.scan_snap.figures import (DISTINCT_SHADES, MAX_HEATMAP_CLASSES, all_figures, attention_heatmap,
                                   logit_trajectories, theory_vs_experiment)
from scansnap_core.scan_snap.presets import preset
from scansnap_core.scan_snap.results import RunData


@pytest.fixture(autouse=True)
def validated_figures(monkeypatch):
    """Build every figure with plotly's validation on: the specs must be valid."""
    from scansnap_core.lab import figure_style

    monkeypatch.setattr(figure_style, "VALIDATE", True)


@pytest.fixture(scope="module")
def small_run() -> RunData:
    engine = Engine(preset("syn-small", steps=60, record_every=2))
    engine.step(60)
    return RunData.from_engine(engine)


def test_attention_heatmap_groups_columns_and_matches_the_record(small_run):
    fig = attention_heatmap(small_run)
    heat = fig.data[0]
    z = np.array(heat.z, dtype=float)
    assert z.shape == (2, 30)  # 2 classes x (10 common + 2 x 10 distinct)
    assert list(fig.layout.xaxis.ticktext) == ["common", "class 1", "class 2"]
    rec = small_run.latest.attention[0]
    np.testing.assert_allclose(z[0, :20], rec[0], rtol=1e-6)  # class 1: common, then its distinct tokens
    assert np.isnan(z[0, 20:]).all() and np.isnan(z[1, 10:20]).all()  # off-support cells stay empty
    assert heat.colorscale[0][1] == "#440154"  # viridis: perceptual, colour-blind safe


def test_logit_trajectories_colour_by_kind_and_mark_theory(small_run):
    fig = logit_trajectories(small_run, query=0)
    assert len(fig.data) <= 1 + DISTINCT_SHADES  # one trace per colour, tokens as NaN-separated segments
    segments = {kind: [seg for t in fig.data if t.legendgroup == kind
                       for seg in np.split(np.asarray(t.y, float), np.flatnonzero(np.isnan(np.asarray(t.y, float))))
                       if len(seg[~np.isnan(seg)])] for kind in ("common", "distinct")}
    assert len(segments["common"]) == 10 and len(segments["distinct"]) == 10  # tokens of query 1
    tokens = {int(c[0]) for t in fig.data for c in np.asarray(t.customdata)}
    assert len(tokens) == 20
    texts = {a.text for a in fig.layout.annotations}
    assert len([sh for sh in fig.layout.shapes if sh.type == "line"]) == 3
    # t0′ ≈ 0.7 and t0 ≈ 2.1 get a label each, in different rows; the snap (step 43) shows only from step 86
    assert texts == {"SGD t0′", "SGD t0", "scan peak"} and small_run.snap_step is None
    assert all(seg[~np.isnan(seg)][-1] < 0 for seg in segments["common"])  # Theorem 2(b) visible in the figure


def test_all_views_build_for_every_preset_size():
    for name in ("fig3", "syn-medium-3"):
        engine = Engine(preset(name, steps=3))
        engine.step(3)
        figs = all_figures(RunData.from_engine(engine))
        assert set(figs) == {"attention", "attention_history", "logit_trajectories", "decoder",
                             "theory_vs_experiment"}
    big = Engine(preset("large", steps=1))
    heat = attention_heatmap(RunData.from_engine(big))
    assert len(heat.data[0].y) == MAX_HEATMAP_CLASSES and "first 20 of 100" in heat.layout.title.text


def test_replay_view_cuts_the_run_at_a_step(small_run):
    early = small_run.upto(10)
    assert early.steps[-1] == 10 and len(early.losses) == 10
    assert attention_heatmap(early).layout.title.text.startswith("Attention c_n at step 10")


@pytest.mark.skipif(shutil.which("chromium") is None, reason="no chromium: kaleido cannot render static images")
def test_figure_pack_holds_every_view_the_tables_and_the_command(small_run):
    from scansnap_core.scan_snap.export import figure_pack

    blob = figure_pack(small_run, summary={"snap_step": small_run.snap_step})
    zf = zipfile.ZipFile(io.BytesIO(blob))
    names = set(zf.namelist())
    for view in ("attention", "attention_history", "logit_trajectories", "decoder", "theory_vs_experiment"):
        assert f"figures/{view}.png" in names and f"figures/{view}.svg" in names
        assert zf.read(f"figures/{view}.png")[:8] == b"\x89PNG\r\n\x1a\n"
        assert b"<svg" in zf.read(f"figures/{view}.svg")[:500]
    assert RunConfig.from_json(zf.read("config.json")) == small_run.config
    metrics = pd.read_parquet(io.BytesIO(zf.read("metrics.parquet")))
    assert len(metrics) == 61 and {"step", "loss"} <= set(metrics.columns)
    reproduce = zf.read("reproduce.sh").decode()
    assert "python -m scansnap_core run --preset syn-small" in reproduce and "--config-token" in reproduce
    assert json.loads(zf.read("summary.json"))["snap_step"] == small_run.snap_step


def test_long_loss_series_are_shown_as_bin_means():
    from scansnap_core.scan_snap.figures.run import _binned

    steps, means, width = _binned(np.arange(1, 10_001, dtype=float), max_points=2000)
    assert width == 5 and len(means) == 2000
    np.testing.assert_allclose(means, steps)  # the mean of steps a..b sits at the bin centre
    steps, means, width = _binned(np.arange(1, 8, dtype=float), max_points=3)  # 7 steps: bins of 3, 3, 1
    assert width == 3 and list(steps) == [2, 5, 7] and list(means) == [2, 5, 7]
    steps, means, width = _binned(np.array([4.0, 2.0]), max_points=2000)
    assert width == 1 and list(steps) == [1, 2] and list(means) == [4, 2]


def test_the_served_plotly_js_is_readable_by_every_user(tmp_path, monkeypatch):
    """In the Docker image the file is created at build time by root and served by uid 10001: a 0600
    file (mkstemp's mode) answered 500 with a PermissionError."""
    import stat

    from scansnap_app import live_chart

    monkeypatch.setattr(live_chart, "STATIC_DIR", tmp_path / "static")
    path = live_chart.ensure_plotly_js()
    mode = stat.S_IMODE(path.stat().st_mode)
    assert mode & 0o444 == 0o444 and not mode & 0o022, oct(mode)


def test_live_charts_serve_the_pinned_plotly_js():
    import plotly

    from scansnap_app.live_chart import PLOTLY_JS, ensure_plotly_js

    path = ensure_plotly_js()
    assert path.name == PLOTLY_JS == f"plotly-{plotly.__version__}.min.js"
    assert path.read_bytes() == (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_bytes()


def test_sweep_figures_show_one_panel_per_query_count_and_the_grid_as_ratio_by_eta_z():
    """Over η_Y × η_Z the heatmaps were sparse diagonals on an uneven axis; the grid's own axes fill every cell."""
    from scansnap_core.scan_snap.figures import sweep_entropy, sweep_heatmap
    from scansnap_core.scan_snap.sweep import summarize_sweep

    table = pd.DataFrame([dict(num_query=q, eta_z=ez, ratio=r, eta_y=ez * r, seed=s, entropy_distinct=q + ez + r + s,
                               scan_peak_step=5.0, snap_step=10.0 * r if s == 1 or r == 10 else np.nan, t0=5.0)
                          for q in (1, 3) for ez in (0.5, 1.0) for r in (1.0, 10.0) for s in (1, 2)])
    summary = summarize_sweep(table)
    fig = sweep_entropy(summary)
    assert [a.text for a in fig.layout.annotations] == ["1 query token", "3 query tokens"]
    assert len(fig.data) == 4 and {t.name for t in fig.data} == {"0.5", "1"}
    first = fig.data[0]  # 1 query token, η_Z = 0.5: mean over seeds 1, 2 is q + ez + r + 1.5
    np.testing.assert_allclose(np.asarray(first.y, float), [1 + 0.5 + 1 + 1.5, 1 + 0.5 + 10 + 1.5])
    np.testing.assert_allclose(np.asarray(first.error_y.array, float), [np.std([0, 1], ddof=1)] * 2, rtol=1e-6)
    heat = sweep_heatmap(table, "snap_step", "snap", num_query=3).data[0]
    assert list(heat.x) == ["1", "10"] and list(heat.y) == ["0.5", "1"]
    z = np.asarray(heat.z, float)
    assert z.tolist() == [[10.0, 100.0], [10.0, 100.0]]  # every cell of the grid filled
    info = np.asarray(heat.customdata, float)  # [η_Z, ratio, (seeds with a snap, seeds, η_Y)]
    assert info[0, 0].tolist() == [1, 2, 0.5] and info[1, 1].tolist() == [2, 2, 10.0]  # ratio 1: seed 1 snapped
    assert summary["snapped"].tolist() == [1, 2, 1, 2] * 2 and (summary["scan_peaks"] == 2).all()


def test_growth_factor_is_measured_on_the_dominant_distinct_token(small_run):
    from scansnap_core.scan_snap.results import GrowthFactor

    layout = small_run.layout
    growth = GrowthFactor.of(small_run, 0)
    slots = np.flatnonzero(layout.support_distinct[0])
    s = slots[np.argmax(layout.support_prob[0, slots])]
    assert growth.token == int(layout.support[0, s])
    z = np.array([r.logits[0][0, s] for r in small_run.records])
    np.testing.assert_allclose(growth.chi, np.exp(2 * (z - z[0])))
    assert growth.chi[-1] > 1.0  # distinct tokens gain attention (Theorem 2)
    # zero init: c_n(0) = P(·|n), so f²(0) = P_max² / Σ P² = (10/155)² / (10/15.5² + Σ_i (i/155)²)
    assert growth.f0_squared == pytest.approx((10 / 155) ** 2 / (10 / 15.5 ** 2 + 385 / 155 ** 2), rel=1e-5)


def test_event_marks_on_a_snapped_run():
    engine = Engine(preset("syn-small"))
    engine.step(100)
    data = RunData.from_engine(engine)
    fig = logit_trajectories(data, query=0)
    marks = {a.text: a.x for a in fig.layout.annotations}
    assert marks["scan peak"] == data.scan_peak_step and marks["snap"] == data.snap_step
    theory = theory_vs_experiment(data)
    assert {t.name for t in theory.data} >= {"SGD theory: upper bound exp(2B)",
                                             "SGD theory: lower bound exp(2f²(0)·B)"}
    adam = RunData.from_engine(Engine(preset("syn-small", optimizer="adam")))
    assert "<sup>Adam run: the bounds are SGD theory</sup>" in theory_vs_experiment(adam).layout.title.text


def test_learning_rate_changes_are_marked_on_the_time_charts_and_named_as_outside_the_theory():
    from scansnap_core.lab.figure_style import RATE_CHANGE_COLOR
    from scansnap_core.scan_snap.results import event_notes

    cfg = preset("syn-small", steps=30, rate_changes=((11, 1.0, 0.5), (21, 2.0, 0.5)))
    engine = Engine(cfg)
    engine.step(30)
    data = RunData.from_engine(engine)
    for fig in (logit_trajectories(data), theory_vs_experiment(data)):
        lines = [s for s in fig.layout.shapes if s.line.color == RATE_CHANGE_COLOR]
        labels = [a.text for a in fig.layout.annotations if a.font.color == RATE_CHANGE_COLOR]
        assert [s.x0 for s in lines] == [11, 21] and labels == ["η_Z → 0.5", "η_Y → 2"]
    assert "learning rates changed during the run (from step 11" in event_notes(data)[2]


def test_exports_take_the_chosen_size_font_and_titles_whatever_the_window(small_run):
    """Modebar PNGs used to follow the window (804 × 900 with the title cut at 1280 px wide)."""
    from browser_helpers import png_size
    from scansnap_core.lab.export import render_images
    from scansnap_core.lab.figure_style import ExportStyle, export_layout

    fig = logit_trajectories(small_run)
    plain = ExportStyle(width=800, height=600, scale=1, font_size=20, titles=False)
    assert export_layout(fig, plain)["title"]["text"] == "" and export_layout(fig, plain)["font"] == {"size": 20}
    assert export_layout(fig, ExportStyle())["title"]["text"] == fig.layout.title.text
    images = render_images({"logits": fig}, style=plain)
    assert png_size(images["logits.png"]) == (800, 600)
    assert fig.layout.title.text.split(" (")[0] not in images["logits.svg"].decode()  # no title
    slide = render_images({"logits": fig}, formats=("png", "svg"))  # the default: a 16:9 slide at 2x, titled
    assert png_size(slide["logits.png"]) == (3200, 1800)
    assert "Attention logits z_ml of query 1" in slide["logits.svg"].decode()


def _label_spans(fig):
    """(row key, (start, end) as a share of the axis) of every time-mark label (xref 'x' only)."""
    from scansnap_core.lab.figure_style import LABEL_CHAR_WIDTH

    x0, x1 = fig.layout.xaxis.range if fig.layout.xaxis.range else (None, None)
    spans = []
    for a in fig.layout.annotations:
        if a.xref != "x" or a.yref != "paper" or not a.text:
            continue
        lo, hi = (x0, x1) if x0 is not None else (0, max(s.x1 for s in fig.layout.shapes if s.type == "line"))
        at = (a.x - lo) / (hi - lo)
        width = LABEL_CHAR_WIDTH * len(a.text)
        spans.append(((round(a.y, 6), a.yanchor), (at, at + width) if a.xanchor == "left" else (at - width, at)))
    return spans


@pytest.mark.parametrize("log_steps", [False, True])
def test_time_mark_labels_never_overlap_and_the_step_axis_can_be_logarithmic(small_run, log_steps):
    """Syn-Small's t0′ = 0.7 and t0 = 2.1 sat on the left edge with overlapping labels."""
    cfg = small_run.config.replace(rate_changes=((2, 1.0, 0.5), (3, 2.0, 0.5)))
    data = dataclasses.replace(small_run, config=cfg)
    fig = logit_trajectories(data, log_steps=log_steps)
    spans = _label_spans(fig) if not log_steps else []
    texts = [a.text for a in fig.layout.annotations]
    assert {"SGD t0", "η_Z → 0.5", "η_Y → 2"} <= set(texts)
    assert ("SGD t0′" in texts) == (not log_steps)  # t0′ = 0.7: before step 1, where a log axis starts
    for i, (row, (a, b)) in enumerate(spans):
        assert not any(row == r and a < d and c < b for r, (c, d) in spans[i + 1:]), texts
    if log_steps:
        assert fig.layout.xaxis.type == "log" and fig.layout.xaxis.range[0] == 0  # from step 1
        assert all(s.x0 >= 1 for s in fig.layout.shapes if s.type == "rect")


def test_every_view_has_an_explanation_the_page_and_the_figure_pack_share(small_run):
    """Nothing on the page explained c_n, z_ml or χ; legends showed raw LaTeX and the loss axis '100μ'."""
    from scansnap_core.scan_snap.explain import VIEWS, captions_markdown
    from scansnap_core.scan_snap.export import figure_pack

    views = all_figures(small_run)
    assert set(VIEWS) == set(views)
    md = captions_markdown()
    for name, e in VIEWS.items():
        assert f"## {name} — {e.title}" in md and e.short in md and e.more in md
    for fig in views.values():  # legends, titles and axes in readable Unicode
        texts = [t.name or "" for t in fig.data] + [fig.layout.title.text or ""]
        assert not any("^{" in t or "\\" in t for t in texts), texts
    loss_axis = views["decoder"].layout.yaxis3
    assert loss_axis.type == "log" and loss_axis.exponentformat == "power"
    zf = zipfile.ZipFile(io.BytesIO(figure_pack(small_run)))
    assert zf.read("captions.md").decode() == md


def test_one_colour_means_one_concept_in_every_figure(small_run):
    """Blue meant distinct tokens, class 1, measured χ and η_Z = 0.5; vermillion meant common tokens and
    'A higher'."""
    from scansnap_core.lab.figure_style import DIVERGING, EVENT_COLOR, RATE_CHANGE_COLOR, SERIES, THEORY_COLOR
    from scansnap_core.scan_snap import figures
    from scansnap_core.scan_snap.figures import COMMON_COLOR, DISTINCT_COLOR
    from scansnap_core.scan_snap.sweep import summarize_sweep

    meaning = {DISTINCT_COLOR.lower(): ("distinct", "χ"), COMMON_COLOR.lower(): ("common",)}
    assert not {c.lower() for c in SERIES} & (set(meaning) | {EVENT_COLOR.lower(), RATE_CHANGE_COLOR.lower(),
                                                              THEORY_COLOR.lower()})
    assert not {c.lower() for _, c in DIVERGING} & set(meaning)
    t = figures.theory_time_grid(700.0, False)
    table = pd.DataFrame([dict(num_query=1, eta_z=ez, ratio=1.0, eta_y=ez, seed=1, entropy_distinct=1.0,
                               scan_peak_step=5.0, snap_step=10.0, t0=5.0) for ez in (0.5, 1.0, 2.0)])
    every = [*all_figures(small_run).values(), figures.sweep_entropy(summarize_sweep(table)),
             figures.theory_h_gamma(10, 1000, 1.0, t), figures.theory_B(10, 1000, 1.0, 0.5, 1.0, t),
             figures.theory_growth(10, 1000, 1.0, 0.5, 1.0, 0.3, t),
             figures.theory_eta_y_sweep(10, 1000, 0.5, [0.5, 1, 2], 1.0, t),
             figures.attention_difference(small_run, small_run)]
    for fig in every:
        for trace in fig.data:
            colours = [getattr(getattr(trace, part, None), "color", None) for part in ("line", "marker")]
            for colour in {c.lower() for c in colours if isinstance(c, str)} & set(meaning):
                assert any(word in (trace.name or "") for word in meaning[colour]), (fig.layout.title.text, trace.name)
        for shape in fig.layout.shapes or ():
            assert (shape.fillcolor or "").lower() not in meaning  # the phase bands have colours of their own


def test_a_many_class_heatmap_labels_at_most_eight_groups_flat():
    """The Large preset's class labels were turned on end and ran into each other."""
    cfg = preset("large", steps=1)
    data = RunData.from_engine(Engine(cfg, max_records=5))
    axis = attention_heatmap(data).layout.xaxis
    assert axis.tickangle == 0 and 2 <= len(axis.ticktext) <= 8 and axis.ticktext[0] == "1"
    assert axis.title.text == "distinct tokens of class (common first)"


# ------------------------------------------------------------------ animation (issue 17: the offline HTML)
@pytest.fixture(scope="module")
def snapped_run():
    engine = Engine(preset("syn-small", steps=100))
    engine.step(100)
    return RunData.from_engine(engine)


def test_the_animation_has_a_frame_per_shown_step_with_that_steps_heatmap_and_marks_only_once_reached(snapped_run):
    from scansnap_core.scan_snap.figures.animation import animation_figure, animation_steps

    data = snapped_run
    assert data.scan_peak_step is not None and data.snap_step is not None
    fig = animation_figure(data, frames=30, seconds=6)
    steps = animation_steps(data, 30)
    assert [f.name for f in fig.frames] == [str(s) for s in steps] and steps[0] == 0 and steps[-1] == 100
    assert len(steps) == 30 and [s["label"] for s in fig.layout.sliders[0].steps] == [str(s) for s in steps]
    assert fig.layout.updatemenus[0].buttons[0].args[1]["frame"]["duration"] == 200  # 6 s over 30 frames
    records = {r.step: r for r in data.records}
    for frame in fig.frames:
        step = int(frame.name)
        np.testing.assert_array_equal(frame.data[0].z, attention_heatmap(data, records[step]).data[0].z)
        labels = {a.text for a in frame.layout.annotations}
        assert ("scan peak" in labels) == (data.upto(step).scan_peak_step is not None)
        assert ("snap" in labels) == (data.upto(step).snap_step is not None)
    assert "snap" in {a.text for a in fig.frames[-1].layout.annotations}
    assert "snap" not in {a.text for a in fig.frames[0].layout.annotations}
    # one colour scale and fixed axes for the whole run, so frames compare by eye
    assert {f.data[0].zmax for f in fig.frames} == {fig.data[0].zmax}
    assert fig.layout.xaxis2.range == (0, 100)


@pytest.mark.skipif(shutil.which("chromium") is None, reason="no chromium on this machine (apt-get install chromium)")
def test_the_animation_file_plays_offline_in_chromium(snapped_run, tmp_path, browser):
    from scansnap_core.scan_snap.figures.animation import animation_figure

    path = tmp_path / "animation.html"
    animation_figure(snapped_run, frames=20, seconds=2).write_html(path, include_plotlyjs=True, auto_play=False)
    html = path.read_text()
    assert not re.search(r"<script[^>]*\bsrc=", html) and len(html) > 3_000_000  # plotly.js inside: nothing to fetch
    page = browser.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    try:
        page.goto(path.as_uri())
        title = "() => document.querySelector('.js-plotly-plot').layout.title.text"
        page.wait_for_function(title, timeout=30_000)
        assert page.evaluate(title).endswith("step 0")
        page.get_by_text("▶ Play").click()
        page.wait_for_function(title + ".endsWith('step 100')", timeout=30_000)  # played to the end
        shown = """() => { const gd = document.querySelector('.js-plotly-plot');
          return [gd.layout.annotations.filter(a => a.visible !== false).map(a => a.text),
                  gd.layout.shapes.filter(s => s.visible !== false).length,
                  gd.data.filter(t => t.visible !== false).length]; }"""
        at_end = page.evaluate(shown)
        assert {"snap", "scan peak"} <= set(at_end[0])
        page.evaluate("() => Plotly.animate(document.querySelector('.js-plotly-plot'), ['0'], "
                      "{frame: {duration: 0, redraw: true}, transition: {duration: 0}, mode: 'immediate'})")
        page.wait_for_function(title + ".endsWith('step 0')", timeout=30_000)
        at_start = page.evaluate(shown)  # scrubbed back: the marks reached later are gone again
        assert not {"snap", "scan peak"} & set(at_start[0]) and at_start[1] < at_end[1]
        assert at_start[2] == at_end[2]  # every token's trajectory, from step 0 on
        assert all(url.startswith("file:") for url in requests), requests
    finally:
        page.close()


def test_enlarged_scales_fonts_and_lines_but_keeps_data_colours_and_absent_lines(snapped_run):
    """The presentation view and the video frames (issue 17): every font, line and marker 1.5x, the rest as is."""
    from scansnap_core.lab.figure_style import enlarged

    fig = logit_trajectories(snapped_run)
    big = enlarged(fig, 1.5)
    assert big.layout.font.size == pytest.approx(1.5 * (fig.layout.font.size or 14))
    assert [a.font.size for a in big.layout.annotations] == [pytest.approx(1.5 * a.font.size)
                                                             for a in fig.layout.annotations]
    widths = [(s.type, s.line.width) for s in fig.layout.shapes]
    assert ("rect", 0) in widths  # the shaded phases have no outline, and keep none
    assert [(s.type, s.line.width) for s in big.layout.shapes] == [(t, pytest.approx(1.5 * w)) for t, w in widths]
    for before, after in zip(fig.data, big.data):
        assert after.line.width == pytest.approx(1.5 * (before.line.width or 2))
        assert after.line.color == before.line.color and np.array_equal(after.y, before.y, equal_nan=True)


def test_video_stills_are_the_animation_frames_without_controls_and_at_talk_size(snapped_run):
    from scansnap_core.scan_snap.figures.animation import animation_figure, still_frames

    stills = still_frames(snapped_run, frames=12)
    animation = animation_figure(snapped_run, frames=12)
    assert len(stills) == len(animation.frames) == 12
    for still, frame in zip(stills, animation.frames):
        assert still.layout.title.text == frame.layout.title.text  # "…, step N"
        assert np.array_equal(still.data[0].z, frame.data[0].z, equal_nan=True)
        assert not still.layout.sliders and not still.layout.updatemenus
        assert still.layout.font.size > 20  # readable on a 1920 x 1080 frame
