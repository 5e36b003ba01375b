"""Learning-rate sweep page (docs/THEORY.md §7, Fig. 6): the background job, the page in AppTest, and
the page in a real browser."""

import csv
import io
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from playwright.sync_api import expect
from streamlit.testing.v1 import AppTest

from browser_helpers import needs_chromium, open_page, shot
from scansnap_core.lab.jobs import SweepJob
from scansnap_core.scan_snap.sweep import FIG6_GRID, fig6_configs, run_sweep, sweep_job, sweep_seconds

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "sweep.py")


def wait_for(job: SweepJob, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while job.running and time.monotonic() < deadline:
        time.sleep(0.05)


def test_sweep_stops_between_chunks_and_keeps_the_finished_groups():
    configs = fig6_configs(num_query=(1, 3), eta_z=(1.0,), ratio=(1.0, 2.0), seeds=(1,), steps=20)
    calls = []
    table = run_sweep(configs, progress=lambda done, total, work: calls.append(done), should_stop=lambda: len(calls) >= 12)
    assert len(table) == 2 and set(table["num_query"]) == {1}  # group 1 finished, group 2 stopped after 2 chunks
    assert calls[:10] == pytest.approx([0.2 * (i + 1) for i in range(10)])  # 2 runs in 10 chunks of 2 steps


def test_prefetched_batches_give_exactly_the_numbers_of_the_plain_sweep():
    """run_sweep draws each group's batches in a background thread (benchmarks/bench_sweep.py): the same draws
    from the same per-run generators, so the same table to the bit; a stopped sweep leaves no sampler behind."""
    import itertools
    import threading

    configs = fig6_configs(num_query=(1, 5), eta_z=(0.5, 3.0), ratio=(1.0, 10.0), seeds=(1, 2), steps=25)
    pd.testing.assert_frame_equal(run_sweep(configs), run_sweep(configs, prefetch=False))
    asked = itertools.count()
    long = fig6_configs(num_query=(5,), eta_z=(1.0,), ratio=(1.0,), seeds=(1, 2), steps=100_000)
    assert len(run_sweep(long, should_stop=lambda: next(asked) >= 5)) == 0  # stopped at its sixth step
    assert not [t for t in threading.enumerate() if t.name == "scansnap-sampler"]  # and the draws with it


def test_sweep_job_runs_in_the_background_and_matches_run_sweep():
    configs = fig6_configs(num_query=(3,), eta_z=(0.5, 2.0), ratio=(1.0, 5.0), seeds=(1,), steps=15)
    job = sweep_job(configs)
    wait_for(job)
    assert job.status == "finished" and job.done == len(configs) == 4
    assert job.measured and job.work == pytest.approx(sweep_seconds(configs)) and job.remaining_seconds() == 0
    expected = run_sweep(configs)
    np.testing.assert_allclose(job.table["entropy_distinct"], expected["entropy_distinct"], atol=1e-6)


def page() -> AppTest:
    return AppTest.from_file(PAGE, default_timeout=120).run()


def test_default_grid_is_the_papers_fig6_grid():
    at = page()
    assert not at.exception and not at.error
    grid = dict(num_query=at.multiselect(key="sw_num_query").value, eta_z=at.multiselect(key="sw_eta_z").value,
                ratio=at.multiselect(key="sw_ratio").value, seeds=range(1, at.number_input(key="sw_seeds").value + 1),
                steps=at.number_input(key="sw_steps").value)
    assert fig6_configs(**grid) == fig6_configs()
    assert (grid["num_query"], grid["eta_z"], grid["ratio"]) == (
        list(FIG6_GRID["num_query"]), list(FIG6_GRID["eta_z"]), list(FIG6_GRID["ratio"]))
    assert any("640 runs × 100 steps" in c.value for c in at.caption)


def test_an_empty_choice_names_the_field():
    at = page()
    at.multiselect(key="sw_eta_z").set_value([]).run()
    assert not at.exception
    assert [e.value for e in at.error] == ["Invalid grid: η_Z: choose at least one value."]


def test_a_reduced_grid_reproduces_the_section7_trends():
    at = page()
    at.multiselect(key="sw_num_query").set_value([1]).run()
    at.multiselect(key="sw_eta_z").set_value([0.5, 3.0]).run()
    at.multiselect(key="sw_ratio").set_value([1.0, 10.0]).run()
    at.button[0].click().run()  # Run sweep
    job = at.session_state["sweep_job"]
    wait_for(job)
    at.run()
    assert not at.exception
    assert any(s.value.startswith("Finished 40 runs") for s in at.success)
    mean = job.table.groupby(["eta_z", "ratio"])["entropy_distinct"].mean()
    for ratio in (1.0, 10.0):
        assert mean[(3.0, ratio)] < mean[(0.5, ratio)] - 0.05  # larger η_Z: sparser attention
    for eta_z in (0.5, 3.0):
        assert mean[(eta_z, 10.0)] > mean[(eta_z, 1.0)] + 0.05  # larger η_Y/η_Z: less sparse
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["⬇ Results (CSV)", "⬇ Results (Parquet)"]


@needs_chromium
def test_sweep_page_in_a_browser(server, browser, tmp_path):
    page, errors = open_page(browser, server + "/sweep", ready_button="Run sweep", height=2600)
    for label, value in (("Seeds", "1"), ("Steps", "20")):
        box = page.get_by_role("spinbutton", name=label, exact=True)
        box.fill(value)
        box.press("Enter")
    expect(page.get_by_text("64 runs × 20 steps")).to_be_visible(timeout=30_000)
    page.get_by_role("button", name="Run sweep").click()
    page.get_by_text("Finished 64 runs").wait_for(timeout=120_000)
    expect(page.locator(".scansnap-live-chart.js-plotly-plot")).to_have_count(4, timeout=30_000)  # all drawn
    with page.expect_download() as info:
        page.get_by_role("button", name="Results (CSV)").click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert len(rows) == 64 and {r["num_query"] for r in rows} == {"1", "3", "5", "10"}
    assert {"scan_peak_step", "snap_step"} <= set(rows[0])
    # the event heatmaps say how many runs snapped and where the grid leaves the SGD theory's setting
    caption = page.get_by_text(re.compile(r"\d+ of 16 runs with \d+ query token\(s\) snapped within their 20 steps"))
    expect(caption).to_be_visible()
    count, q = re.search(r"(\d+) of 16 runs with (\d+) query", caption.inner_text()).groups()
    assert int(count) == sum(1 for r in rows if r["num_query"] == q and r["snap_step"])
    expect(page.get_by_text("default init (the theory starts from Y = Z = 0)", exact=False)).to_be_visible()
    table = page.get_by_test_id("stDataFrame")
    table.scroll_into_view_if_needed()
    box = table.bounding_box()
    page.mouse.click(box["x"] + 12, box["y"] + 55)  # the first row's selection cell
    link = page.get_by_role("link", name="in the Live Lab")
    expect(link).to_be_visible(timeout=30_000)
    assert "preset=syn-medium-1" in link.get_attribute("href")
    shot(page, "sweep")
    assert not errors


def test_every_query_token_count_the_page_offers_opens_in_the_live_lab():
    """The page offers 1–10 query tokens, but the row link used to call preset(f"syn-medium-{q}"),
    which exists only for 1, 3, 5 and 10: a row with 2 query tokens raised ConfigError on the page."""
    import urllib.parse

    from scansnap_app.controls import config_from_url, live_lab_link
    from scansnap_core.scan_snap.sweep import cell_config

    for q in range(1, 11):
        cfg = cell_config(q, 2.0, 5.0, seed=1, steps=20)
        assert cfg == fig6_configs(num_query=(q,), eta_z=(2.0,), ratio=(5.0,), seeds=(1,), steps=20)[0].replace(
            record_every=1)  # the sweep's own run, recorded every step for the Live Lab
        name = f"syn-medium-{q}" if q in (1, 3, 5, 10) else "syn-medium-1"
        query = dict(urllib.parse.parse_qsl(live_lab_link(cfg, name).removeprefix("./?")))
        _, restored, notices = config_from_url(query)
        assert restored == cfg and not notices


def test_a_sweep_counts_against_the_server_caps_and_stops_when_its_tab_goes_silent():
    """Sweeps used to escape every cap: the training cap, the fair share and the idle watchdog."""
    from scansnap_app.sessions import Registry
    from scansnap_core.lab.fair_share import TRAINERS

    registry = Registry(max_training=1, idle_ttl=30)
    job = sweep_job(fig6_configs(num_query=(10,), eta_z=(1.0,), ratio=(1.0, 2.0), seeds=range(1, 9), steps=5000))
    try:
        registry.track_sweep("tab-sweep", job)
        deadline = time.monotonic() + 30
        while TRAINERS.count() < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert job.running and TRAINERS.count() == 1  # takes its fair share among the trainers
        assert registry.training_count() == 1 and not registry.may_start("another-tab")  # the cap counts it
        assert registry.may_start("tab-sweep")  # its own tab is not blocked by itself
        registry.touch_sweep("tab-sweep")
        assert registry.reap(now=time.monotonic() + 10) == []  # a polling tab keeps it
        assert registry.reap(now=time.monotonic() + 31) == ["tab-sweep"]  # a silent one does not
        wait_for(job, 30)
        assert job.status == "cancelled" and registry.training_count() == 0 and TRAINERS.count() == 0
    finally:
        job.cancel()


def test_cancel_shows_at_once_and_a_second_session_waits_for_the_sweep_slot(monkeypatch):
    """The run that starts a sweep draws Cancel (it used to draw Run again until the next rerun); one sweep
    at a time server-wide (SCANSNAP_MAX_SWEEPS = 1), another session is told why it must wait."""
    from scansnap_app import sessions

    registry = sessions.Registry(max_training=4, idle_ttl=60, max_sweeps=1)
    monkeypatch.setattr(sessions, "REGISTRY", registry)
    monkeypatch.setattr("scansnap_app.sessions.REGISTRY", registry)
    first = page()
    first.multiselect(key="sw_num_query").set_value([1]).run()  # 160 small runs: a few seconds, cancelled sooner
    first.number_input(key="sw_steps").set_value(5000).run()
    first.button(key="sw_run").click().run()
    job = first.session_state["sweep_job"]
    try:
        assert job.running and [b.label for b in first.button] == ["Cancel sweep"]
        second = AppTest.from_file(PAGE, default_timeout=120)
        second.session_state["session_id"] = "another-tab"
        second.run()
        second.multiselect(key="sw_num_query").set_value([1]).run()
        second.number_input(key="sw_steps").set_value(5).run()
        second.button(key="sw_run").click().run()
        assert "sweep_job" not in second.session_state
        assert [w.value for w in second.warning] == [
            "Server busy: 1 sweep running, at most 1 at once (SCANSNAP_MAX_SWEEPS). Try again when it has finished."]
        first.button(key="sw_cancel").click().run()
        wait_for(job, 60)
        assert job.status == "cancelled"
        second.button(key="sw_run").click().run()
        assert second.session_state["sweep_job"].running  # the slot is free again
    finally:
        job.cancel()
        for lab_job in [e.job for e in registry._sweeps.values()]:
            lab_job.cancel()



def test_the_time_left_follows_the_measured_speed_once_a_group_has_trained():
    """'about 26 s' took 36.8 s and 'about 5 s' took 9.2 s: a fixed per-step constant, whatever the layout."""
    import threading

    from scansnap_core.lab.jobs import SweepJob

    small, large = (fig6_configs(num_query=(q,), eta_z=(1.0,), ratio=(1.0,), seeds=(1,), steps=100) for q in (1, 10))
    assert sweep_seconds(large) > 1.5 * sweep_seconds(small)  # the estimate weighs the layout's size
    gate = threading.Event()

    def sweep(progress, partial, should_stop):
        progress(1, 4, 2.0)  # a quarter of the runs, a fifth of the estimated work
        partial(pd.DataFrame([{"run": 0}]))
        gate.wait(30)
        return pd.DataFrame([{"run": i} for i in range(4)])

    job = SweepJob(sweep, configs=[None] * 4, seconds=10.0)
    deadline = time.monotonic() + 10
    while not job.measured and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    assert job.remaining_seconds() == pytest.approx(4 * job.seconds(), rel=0.05)  # 8 of 10 s of work left
    gate.set()
    job.cancel(wait=10)
    assert job.status == "finished" and job.remaining_seconds() == 0
