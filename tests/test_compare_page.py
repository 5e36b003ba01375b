"""Compare (A/B) page: the lockstep pair runner, the attended-token differences, the difference
heatmap, the page in AppTest and in a real browser."""

import dataclasses
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from playwright.sync_api import expect
from streamlit.testing.v1 import AppTest

from browser_helpers import needs_chromium, open_page, shot
from scansnap_app import sessions
from scansnap_core.lab import figure_style
from scansnap_core.lab.fields import ConfigError
from scansnap_core.lab.runner import Runner, Status
from scansnap_core.scan_snap import figures
from scansnap_core.scan_snap.compare import attended_distinct, compare_runs
from scansnap_core.scan_snap.engine import Engine, live_runner
from scansnap_core.scan_snap.presets import preset
from scansnap_core.scan_snap.results import RunData

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "compare.py")

pytestmark = pytest.mark.usefixtures("fresh_registry")


def quick(**kw):
    return preset("syn-small", batch_size=16, seq_len=24, **{"steps": 30, **kw})


def alone(cfg, steps=None) -> RunData:
    engine = Engine(cfg, max_records=sessions.MAX_RECORDS)
    engine.step(steps or cfg.train.steps)
    engine.ensure_final_record()
    return RunData.from_engine(engine)


# ---------------------------------------------------------------- pair runner
def test_pair_runner_steps_both_runs_in_lockstep_like_each_alone():
    a, b = quick(), quick(optimizer="adam", eta_y=0.5, eta_z=0.5, seed=5)
    runner = live_runner([a, b], max_records=sessions.MAX_RECORDS)
    runner.step_once(wait=10)
    runner.step_once(wait=10)
    snaps = runner.snapshots()
    assert [s.step for s in snaps] == [2, 2] and [s.config for s in snaps] == [a, b]
    runner.start()
    seen = []
    while runner.status == Status.RUNNING:
        s_a, s_b = runner.snapshots()
        assert s_a.step == s_b.step == len(s_a.data.losses) == len(s_b.data.losses)  # one shared step counter
        seen.append(s_a.step)
        time.sleep(0.002)
    assert runner.wait(60) == Status.FINISHED and runner.snapshot().message == "Finished 30 steps."
    assert seen == sorted(seen)
    for snap, cfg in zip(runner.snapshots(), (a, b)):
        ref = alone(cfg)
        np.testing.assert_array_equal(snap.data.losses, ref.losses)  # same seed => the same numbers
        np.testing.assert_array_equal(snap.data.latest.attention, ref.latest.attention)
        assert snap.data.latest.step == ref.latest.step == 30 and len(snap.data.records) == len(ref.records) == 31
    runner.reset()
    assert [s.step for s in runner.snapshots()] == [0, 0] and runner.configs == (a, b)
    runner.stop()


def test_pair_runner_needs_one_step_count_and_names_the_diverged_run():
    with pytest.raises(ConfigError, match="steps"):
        live_runner([quick(steps=30), quick(steps=40)])
    runner = live_runner([quick(), quick(seed=3)])
    runner.step_once(wait=10)
    with torch.no_grad():
        runner.engines[1].Z.fill_(float("inf"))
    runner.start()
    assert runner.wait(10) == Status.DIVERGED
    assert "diverged at step 2 in run B" in runner.snapshot().message
    runner.stop()


# ---------------------------------------------------------------- differences
@pytest.fixture(scope="module")
def sgd_vs_adam():
    """The page's default pair (Fig. 5): Syn-Small, SGD vs Adam with η_Y = η_Z = 0.5, 100 steps."""
    return alone(preset("syn-small")), alone(preset("syn-small", optimizer="adam", eta_y=0.5, eta_z=0.5))


def test_identical_runs_have_no_differences(sgd_vs_adam):
    sgd, _ = sgd_vs_adam
    result = compare_runs(sgd, sgd)
    assert not result.differs and result.max_attention_gap == 0.0
    assert all(c.attended_a == c.attended_b == c.both and not c.only_a and not c.only_b for c in result.classes)
    assert result.entropy_a == result.entropy_b and result.loss_a == result.loss_b == sgd.losses[-1]


def test_sgd_attends_to_the_most_frequent_distinct_tokens_adam_to_a_middle_subset(sgd_vs_adam):
    sgd, adam = sgd_vs_adam
    result = compare_runs(sgd, adam)
    assert result.step == 100 and result.differs
    by_class = [(c.only_a, c.both, c.only_b) for c in result.classes]
    # distinct tokens 10..19 (class 1) and 20..29 (class 2), each class's ordered by increasing P(l|n)
    assert by_class == [((18, 19), (16, 17), (13, 14, 15)), ((28, 29), (27,), (23, 24, 25, 26))]
    assert result.entropy_b > result.entropy_a + 0.2  # Adam's attention is spread over more tokens
    assert result.entropy_a == pytest.approx(float(sgd.latest.entropy_distinct[0]))
    table = result.table()
    assert table.loc[0, ["only A", "both", "only B"]].tolist() == ["18, 19", "16, 17", "13, 14, 15"]
    # at step 0 (zero init) both runs are the same: c ∝ P(l|n), so the same frequent tokens are above uniform
    start = compare_runs(sgd, adam, step=0)
    assert start.step == 0 and not start.differs and start.max_attention_gap == 0.0
    assert start.classes[0].both == (16, 17, 18, 19) and start.entropy_a == pytest.approx(2.1513, abs=1e-4)


def test_attended_tokens_on_a_constructed_record(sgd_vs_adam):
    sgd, _ = sgd_vs_adam
    layout = sgd.layout
    attention = np.zeros((1, layout.K, layout.S), dtype=np.float32)
    d0 = np.flatnonzero(layout.support_distinct[0])
    attention[0, 0, d0] = 0.05  # class 1: uniform over its 10 distinct tokens ...
    attention[0, 0, d0[3]] = 0.5  # ... except one token holding most of it
    attention[0, 1, layout.support_distinct[1]] = 0.1  # class 2: exactly uniform
    record = dataclasses.replace(sgd.latest, attention=attention)
    seen, share = attended_distinct(sgd, record)
    assert layout.support[0][seen[0]].tolist() == [layout.support[0][d0[3]]] and not seen[1].any()
    np.testing.assert_allclose(share[0, d0].sum(), 1.0, rtol=1e-6)
    np.testing.assert_allclose(share[0, d0[3]], 0.5 / 0.95, rtol=1e-6)


def test_difference_heatmap_values_and_labels(sgd_vs_adam, monkeypatch):
    monkeypatch.setattr(figure_style, "VALIDATE", True)
    sgd, adam = sgd_vs_adam
    fig = figures.attention_difference(sgd, adam, step=100)
    heat = fig.data[0]
    assert fig.layout.title.text == "Attention difference c_A − c_B at step 100"
    assert heat.zmid == 0 and heat.zmin == -heat.zmax
    z = np.asarray(heat.z, dtype=float)
    tokens = np.asarray(heat.customdata)[0, :, 0].astype(int)
    col = {t: i for i, t in enumerate(tokens)}
    layout = sgd.layout
    for n in range(layout.K):
        for s in np.flatnonzero(layout.support_prob[n] > 0):
            expected = sgd.latest.attention[0, n, s] - adam.latest.attention[0, n, s]
            assert z[n, col[int(layout.support[n, s])]] == pytest.approx(expected, abs=1e-6)
    assert np.nanmax(np.abs(z)) == pytest.approx(heat.zmax, rel=1e-6)
    labels = np.asarray(heat.text)
    assert [labels[0, col[t]] for t in range(12, 20)] == ["", "B", "B", "B", "AB", "AB", "A", "A"]


# ---------------------------------------------------------------- page (AppTest)


def page() -> AppTest:
    return AppTest.from_file(PAGE, default_timeout=120).run()


def control(at: AppTest, name: str):
    """The run-control button `name` ("start", "step" or "reset"); its key carries a generation."""
    (button,) = [b for b in at.button if (b.key or "").startswith(f"cmp-{name}-")]
    return button


def pair_of(registry) -> Runner:
    (lab,) = registry._labs.values()
    return lab.runner


def test_defaults_are_sgd_vs_adam_on_syn_small(fresh_registry):
    at = page()
    assert not at.exception and not at.error
    runner = pair_of(fresh_registry)
    assert runner.configs == (preset("syn-small"), preset("syn-small", optimizer="adam", eta_y=0.5, eta_z=0.5))
    assert control(at, "start").label == "Start"
    assert at.metric[0].value == "0 / 100"
    assert any("SGD" in m.value for m in at.markdown) and any("ADAM, η_Y = 0.5" in m.value for m in at.markdown)
    at.button(key="cmp_B_fig5_0.1").click().run()  # Fig. 5's smallest Adam rate: both η of B
    assert at.number_input(key="cmp_B_eta_y").value == at.number_input(key="cmp_B_eta_z").value == 0.1
    assert pair_of(fresh_registry).configs[1].train.eta_z == 0.1  # nothing trained yet: rebuilt at once


def test_an_invalid_value_names_field_value_and_range(fresh_registry):
    at = page()
    at.number_input(key="cmp_B_eta_y").set_value(-1.0).run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "Invalid setting for run B: eta_y = -1.0 is invalid: allowed 0 < eta_y <= 1000. "
        "Training keeps the last valid settings."]
    assert pair_of(fresh_registry).configs[1].train.eta_y == 0.5
    at.number_input(key="cmp_steps").set_value(0).run()
    assert not at.exception
    assert any("steps = 0 is invalid: allowed integer 1 <= steps <= 1000000" in e.value for e in at.error)


def test_an_invalid_value_on_the_first_visit_still_builds_the_default_pair(fresh_registry):
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["cmp_A_eta_z"] = -3.0
    at.run()
    assert not at.exception
    assert any(e.value.startswith("Invalid setting for run A: eta_z = -3.0 is invalid") for e in at.error)
    assert pair_of(fresh_registry).configs[0] == preset("syn-small")
    assert at.metric[0].value == "0 / 100"


def test_changes_during_a_run_wait_for_reset(fresh_registry):
    at = page()
    control(at, "step").click().run()
    runner = pair_of(fresh_registry)
    assert runner.snapshot().step == 1
    at.number_input(key="cmp_B_seed").set_value(7).run()
    assert not at.exception
    assert any("apply when you press **Reset**" in i.value for i in at.info)
    assert runner.configs[1].train.seed == 2 and runner.snapshot().step == 1
    control(at, "reset").click().run()
    assert runner.configs[1].train.seed == 7 and runner.snapshot().step == 0
    assert not at.info


def test_start_finishes_then_one_replay_slider_drives_both_sides(fresh_registry):
    at = page()
    at.number_input(key="cmp_steps").set_value(40).run()
    control(at, "start").click().run()
    runner = pair_of(fresh_registry)
    assert runner.wait(60) == Status.FINISHED
    at.run()
    assert not at.exception
    assert control(at, "start").label == "Finished"
    replay = at.select_slider(key="cmp_replay")
    assert replay.value == 40
    replay.set_value(10).run()
    assert not at.exception
    assert at.metric[0].value == "10 / 40"
    a, b = (s.data for s in runner.snapshots())
    expected = compare_runs(a, b, step=10)
    assert at.metric[1].value == f"{expected.entropy_a:.3f} / {expected.entropy_b:.3f}"
    assert at.dataframe[0].value["only B"].tolist() == expected.table()["only B"].tolist()


# ---------------------------------------------------------------- page (browser)
@needs_chromium
def test_compare_page_in_a_browser(server, browser):
    page, errors = open_page(browser, server + "/compare", ready_button="Start", height=2800)
    steps = page.get_by_role("spinbutton", name="Steps (shared)", exact=True)
    steps.fill("60")
    steps.press("Enter")
    expect(page.get_by_text("0 / 60")).to_be_visible(timeout=30_000)
    page.get_by_role("button", name="Start").click()
    page.get_by_text("Finished 60 steps.").wait_for(timeout=60_000)
    page.get_by_text("Replay: step shown on both sides").wait_for(timeout=30_000)
    titles = ("() => [...document.querySelectorAll('.scansnap-live-chart')].map(e => e.layout?.title?.text || '')"
              ".filter(t => t.includes('Attention c_n'))")
    page.wait_for_function(f"() => ({titles})().length == 2 && ({titles})().every(t => t.endsWith('step 60'))",
                           timeout=30_000)
    slider = page.get_by_role("slider").last
    slider.focus()
    for _ in range(20):  # back 20 recorded steps: 60 -> 40
        page.keyboard.press("ArrowLeft")
    both_at_40 = "A · Attention c_n at step 40|B · Attention c_n at step 40"
    page.wait_for_function(f"() => ({titles})().join('|') == '{both_at_40}'",
                           timeout=30_000)
    page.wait_for_function("() => [...document.querySelectorAll('.scansnap-live-chart')]"
                           ".some(e => e.layout?.title?.text == 'Attention difference c_A − c_B at step 40')",
                           timeout=30_000)
    expect(page.get_by_text("40 / 60")).to_be_visible(timeout=30_000)
    page.wait_for_timeout(800)  # let the last charts draw before the screenshot
    shot(page, "compare")
    assert not errors


def test_a_pair_syncs_by_the_live_labs_rule():
    """Lab.sync takes a tuple of configs (the pair) as well as one: rebuilt before the first step,
    kept in ``pending`` for Reset once it has trained (the page had its own copy of this rule)."""
    from scansnap_app.sessions import Lab
    a, b = preset("syn-small", steps=5), preset("syn-small", optimizer="adam", steps=5)
    lab = Lab(live_runner((a, b)))
    changed = (a, b.replace(eta_z=0.1))
    assert lab.sync(changed) is None and lab.runner.configs == changed and lab.pending is None  # not started
    lab.runner.step_once(wait=5)
    later = (a.replace(seed=9), b)
    assert lab.sync(later) is None and lab.pending == later and lab.runner.configs == changed  # waits for Reset
    assert lab.sync(changed) is None and lab.pending is None  # back to what runs: nothing waits
    lab.runner.stop()
