"""Live Lab page (AppTest, no browser): controls -> config, presets, URL round trip, bad input,
sessions registry."""

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from scansnap_app import sessions
from scansnap_core.lab.runner import Status
from scansnap_core.scan_snap.engine import live_runner
from scansnap_core.scan_snap.presets import preset

APP = str(Path(__file__).resolve().parent.parent / "app.py")



pytestmark = pytest.mark.usefixtures("fresh_registry")


def page(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    if query:
        at.query_params.update(query)
    return at.run()


def lab_of(registry):
    (lab,) = registry._labs.values()
    return lab


def forget_labs(registry) -> None:
    """Before a second page in one test: stop the first page's workers (or they outlive the test) and
    forget its lab."""
    for lab in registry._labs.values():
        lab.runner.stop()
    registry._labs.clear()


def control(at: AppTest, name: str):
    """The run-control button `name` ("start", "step" or "reset"); its key carries a generation."""
    (button,) = [b for b in at.button if (b.key or "").startswith(name + "-")]
    return button


def test_default_page_shows_syn_small_ready_to_start(fresh_registry):
    at = page()
    assert not at.exception and not at.error
    assert at.session_state["preset"] == "syn-small"
    assert lab_of(fresh_registry).runner.config == preset("syn-small")
    assert control(at, "start").label == "Start"
    assert any("M = 34" in c.value for c in at.caption)


def test_preset_fills_every_control_and_the_url(fresh_registry):
    at = page()
    at.selectbox(key="preset").set_value("fig3").run()
    cfg = preset("fig3")
    for name, value in cfg.flat().items():
        if name in at.session_state:
            assert at.session_state[name] == value, name
    assert lab_of(fresh_registry).runner.config == cfg
    assert dict(at.query_params) == {"preset": "fig3"}  # nothing differs from the preset


def test_controls_map_to_the_config_and_the_url_round_trips(fresh_registry):
    at = page()
    at.select_slider(key="eta_y").set_value(5.0).run()
    at.number_input(key="seed").set_value(7).run()
    cfg = lab_of(fresh_registry).runner.config
    assert (cfg.train.eta_y, cfg.train.seed) == (5.0, 7)
    url = dict(at.query_params)
    assert url == {"preset": "syn-small", "eta_y": "5.0", "seed": "7"}
    fresh = page(url)  # a new browser pasting the URL
    assert fresh.session_state["eta_y"] == 5.0 and fresh.session_state["seed"] == 7
    assert not fresh.warning


def test_invalid_url_values_fall_back_with_a_notice(fresh_registry):
    at = page({"preset": "fig3", "eta_y": "-4", "seed": "abc", "steps": "250"})
    assert not at.exception
    texts = " ".join(w.value for w in at.warning)
    assert "eta_y = -4.0 is invalid: allowed 0 < eta_y <= 1000" in texts
    assert "seed = 'abc' is invalid" in texts
    cfg = lab_of(fresh_registry).runner.config
    assert cfg == preset("fig3", steps=250)  # the valid value kept, the bad ones at the preset's values


def test_unknown_preset_in_url_is_reported():
    at = page({"preset": "nope"})
    assert any("preset = 'nope' is not a preset" in w.value for w in at.warning)
    assert at.session_state["preset"] == "syn-small"


def test_invalid_combination_shows_the_field_and_keeps_the_run(fresh_registry):
    at = page()
    at.number_input(key="distinct_max").set_value(0.01).run()  # below distinct_min = 0.1
    assert not at.exception
    assert any("distinct_max = 0.01 is invalid: allowed distinct_max >= distinct_min = 0.1" in e.value
               for e in at.error)
    assert lab_of(fresh_registry).runner.config == preset("syn-small")


def test_start_trains_and_finishes_then_offers_replay(fresh_registry):
    at = page()
    at.number_input(key="steps").set_value(40).run()
    control(at, "start").click().run()
    runner = lab_of(fresh_registry).runner
    assert runner.wait(60) == Status.FINISHED
    at.run()
    assert not at.exception
    assert at.metric[0].value == "40 / 40"
    replay = at.select_slider(key="replay")
    assert replay.value == 40
    replay.set_value(10).run()
    assert not at.exception


def test_learning_rates_apply_live_other_changes_wait_for_reset(fresh_registry):
    at = page()
    at.number_input(key="steps").set_value(10_000).run()
    control(at, "step").click().run()
    lab = lab_of(fresh_registry)
    assert lab.runner.snapshot().step == 1
    at.select_slider(key="eta_z").set_value(2.0).run()
    assert lab.runner.config.train.rate_changes == ((2, 1.0, 2.0),) and lab.pending is None  # recorded in the run
    assert lab.runner.config.train.eta_z == 1.0 and at.toast[0].value == (
        "Applied live: learning rates η_Y = 1, η_Z = 2 from step 2.")
    at.number_input(key="seed").set_value(99).run()
    assert lab.pending is not None and lab.runner.config.train.seed == 2
    assert any("applies when you press" in i.value for i in at.info)
    control(at, "reset").click().run()
    cfg = lab.runner.config  # what the controls show, from step 1
    assert (cfg.train.seed, cfg.train.eta_z, cfg.train.rate_changes, lab.runner.snapshot().step) == (99, 2.0, (), 0)


def test_a_change_after_a_run_ended_sets_up_a_fresh_run(fresh_registry):
    """After a finished run, a change used to say 'run in progress' and need Reset, then Start; and picking the
    Fig. 3 preset left the old Syn-Small charts on the page."""
    at = page({"steps": "5"})
    control(at, "start").click().run()
    lab = lab_of(fresh_registry)
    assert lab.runner.wait(60) == Status.FINISHED
    at.run()
    at.number_input(key="seed").set_value(7).run()
    snap = lab.runner.snapshot()
    assert (snap.status, snap.step, snap.config.train.seed, lab.pending) == (Status.IDLE, 0, 7, None)
    assert not any("applies when you press" in i.value for i in at.info) and control(at, "start").label == "Start"
    assert at.metric[0].value == "0 / 5"
    control(at, "start").click().run()
    assert lab.runner.wait(60) == Status.FINISHED
    at.run()
    at.selectbox(key="preset").set_value("fig3").run()
    snap = lab.runner.snapshot()
    assert snap.step == 0 and snap.config == lab.controls and snap.config.vocab_size == 1002
    assert at.metric[0].value == f"0 / {snap.total_steps:,}" and not at.exception


def test_each_action_renames_the_controls_so_a_late_duplicate_click_finds_nothing(fresh_registry):
    """Streamlit can deliver one click twice; after Start the old button keys no longer exist."""
    at = page()
    at.number_input(key="steps").set_value(100_000).run()
    before = {b.key for b in at.button}
    control(at, "start").click().run()
    after = {b.key for b in at.button}
    assert {"start-0", "step-0", "reset-0"} <= before
    assert not {"start-0", "step-0", "reset-0"} & after and {"start-1", "step-1", "reset-1"} <= after
    assert lab_of(fresh_registry).runner.status == Status.RUNNING
    assert control(at, "start").label == "Pause"
    control(at, "start").click().run()
    assert lab_of(fresh_registry).runner.status == Status.PAUSED and control(at, "start").label == "Resume"


def test_a_click_on_a_page_whose_idle_lab_was_reaped_still_trains(fresh_registry):
    """Under heavy load an open tab can miss its heartbeats; its next click revives its lab."""
    at = page()
    at.number_input(key="steps").set_value(30).run()
    lab = lab_of(fresh_registry)
    assert fresh_registry.reap(now=time.monotonic() + 1_000) and lab.runner.status == Status.STOPPED
    control(at, "start").click().run()
    assert lab_of(fresh_registry) is lab and lab.runner.wait(60) == Status.FINISHED
    at.run()
    assert at.metric[0].value == "30 / 30" and not at.exception


def test_server_cap_says_busy(fresh_registry):
    fresh_registry.max_training = 0
    at = page()
    control(at, "start").click().run()
    assert any("Server busy" in w.value for w in at.warning)
    assert lab_of(fresh_registry).runner.status == Status.IDLE


def test_watchdog_reaps_silent_sessions():
    registry = sessions.Registry(max_training=2, idle_ttl=5)
    lab = registry.lab("a", lambda: live_runner(preset("syn-small", steps=100_000)))
    lab.runner.start()
    registry.lab("b", lambda: live_runner(preset("syn-small")))
    assert registry.reap(now=time.monotonic() + 1) == []
    assert sorted(registry.reap(now=time.monotonic() + 10)) == ["a", "b"]
    assert lab.runner.status == Status.STOPPED and registry.active_sessions() == 0


def test_events_show_only_what_the_replayed_step_could_detect(fresh_registry):
    """Finished Syn-Small: KPIs and caption give the scan peak and the snap; replayed to a step before
    the snap was detectable (2 × snap), the replay box says "not snapped" and shows no snap mark."""
    at = page()
    lab = lab_of(fresh_registry)
    lab.runner.start()
    assert lab.runner.wait(120) == Status.FINISHED
    at.run()
    data = lab.runner.snapshot().data
    peak, snap = data.scan_peak_step, data.snap_step
    assert peak is not None and snap is not None
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Scan peak"] == f"step {peak}" and metrics["Snap"] == f"step {snap}"
    captions = " ".join(c.value for c in at.caption)
    assert f"Snapped at step {snap}" in captions and f"Attended distinct tokens since the snap (step {snap})" in captions
    assert "Outside the theory's assumptions: momentum" in captions
    at.select_slider(key="replay").set_value(2 * snap - 1).run()
    captions = " ".join(c.value for c in at.caption)
    assert f"Not snapped by step {2 * snap - 1}" in captions and "at the snap" not in captions
    assert "the logits stay nearly still until step" in captions
    at.select_slider(key="replay").set_value(peak + 3).run()  # the last full window is centred at peak − 1
    assert "still rising (no scan peak yet)" in " ".join(c.value for c in at.caption)


def test_a_large_run_is_built_only_when_start_or_step_is_pressed(fresh_registry, monkeypatch):
    """Opening /?preset=large&init=default&distinct_per_class=132 in four tabs, never pressing Start, took the
    server from 1.1 GB to 4.0 GB."""
    at = page({"preset": "large", "init": "default", "distinct_per_class": "132"})
    lab = lab_of(fresh_registry)
    assert not at.exception and not lab.runner.built and fresh_registry.memory_in_use() == 0
    assert lab.runner.memory_bytes > 1000 * 2**20  # what Start will ask the server's budget for
    (note,) = [i.value for i in at.info if "built when you press Start" in i.value]
    assert note.startswith(f"This run needs about {lab.runner.memory_bytes / 2**20:,.0f} MB")
    forget_labs(fresh_registry)

    from scansnap_core.lab.limits import Limits
    from scansnap_core.scan_snap import engine

    monkeypatch.setattr(engine, "LIMITS", Limits(build_on_open_mb=1))  # now even Syn-Small waits for Start
    at = page()
    lab = lab_of(fresh_registry)
    assert not lab.runner.built and not at.metric and any("built when you press Start" in i.value for i in at.info)
    control(at, "step").click().run()
    assert lab.runner.built and lab.runner.snapshot().step == 1 and at.metric[0].value == "1 / 100"
    assert not any("built when you press Start" in i.value for i in at.info) and not at.exception


def test_step_moves_the_charts_and_the_replay_slider_to_the_newest_step(fresh_registry):
    """After five Step clicks the KPIs said 5 / 100 but every chart stayed at step 1 (the replay slider kept 1)."""
    at = page()
    for n in range(1, 6):
        control(at, "step").click().run()
        assert at.metric[0].value == f"{n} / 100" and at.select_slider(key="replay").value == n
        assert not any("(replay)" in m.value for m in at.markdown)  # the charts show the newest step
    at.select_slider(key="replay").set_value(2).run()  # the user replays step 2: it stays there
    control(at, "step").click().run()
    assert at.metric[0].value == "6 / 100" and at.select_slider(key="replay").value == 2
    assert any(m.value == "**At step 2** (replay)" for m in at.markdown)


def test_a_finite_t_run_whose_common_tokens_rise_says_why_and_switches_to_the_theorems_setting(fresh_registry):
    """With the Fig. 3 preset the common token's logit rose (+0.3) while the page's headline says common tokens
    drop, without a word on the page."""
    at = page({"preset": "fig3", "steps": "60"})
    control(at, "start").click().run()
    lab = lab_of(fresh_registry)
    assert lab.runner.wait(120) == Status.FINISHED
    at.run()
    rise = lab.runner.snapshot().data.common_logit_change
    (note,) = [w.value for w in at.warning if "finite-T effect" in w.value]
    assert rise > 0.05 and f"rose** (by {rise:+.2f}" in note and "T = 128" in note and "100 tokens" in note
    at.button(key="finite_t_expected").click().run()
    assert at.session_state["mode"] == "expected"
    snap = lab.runner.snapshot()  # the run had ended: the switch sets up the T → ∞ run at once
    assert (snap.step, snap.config.train.mode) == (0, "expected")
    control(at, "start").click().run()
    assert lab.runner.wait(120) == Status.FINISHED
    at.run()
    assert lab.runner.snapshot().data.common_logit_change < 0
    assert not any("finite-T effect" in w.value for w in at.warning) and not at.exception

    forget_labs(fresh_registry)
    at = page()  # Syn-Small: its common tokens drop as the theorem says, and the page says nothing more
    control(at, "start").click().run()
    assert lab_of(fresh_registry).runner.wait(120) == Status.FINISHED
    at.run()
    assert not any("finite-T effect" in w.value for w in at.warning)


def test_a_lecture_pauses_at_t0_prime_t0_and_the_snap(fresh_registry):
    """A teacher could not narrate: the default run was over in about 4 s, with no pause at the theory's times."""
    at = page()
    assert "lecture" in at.select_slider(key="speed").options
    at.toggle(key="auto_pause").set_value(True).run()
    at.select_slider(key="speed").set_value("slow").run()
    lab = lab_of(fresh_registry)
    control(at, "start").click().run()
    for step, what in ((1, "SGD t0′ = 0.7"), (3, "SGD t0 = 2.1")):
        deadline = time.monotonic() + 30
        while lab.runner.status == Status.RUNNING and time.monotonic() < deadline:
            time.sleep(0.01)
        at.run()
        assert lab.runner.snapshot().step == step and control(at, "start").label == "Resume"
        assert any(i.value.startswith(f"Paused at step {step}: {what}") for i in at.info)
        control(at, "start").click().run()
        if step == 3:
            at.select_slider(key="speed").set_value("full speed").run()  # the snap pause needs no page to watch
    deadline = time.monotonic() + 60
    while lab.runner.status == Status.RUNNING and time.monotonic() < deadline:
        time.sleep(0.01)
    snap = lab.runner.snapshot()
    assert snap.status == Status.PAUSED and snap.data.snap_step is not None
    # paused at the first step from which a live run can tell the snap (the snap is confirmed later than it happens)
    assert snap.message == (f"Paused at step {snap.step}: the snap was detected, at step {snap.data.snap_step}. "
                            "Press Resume to go on.") and snap.data.upto(snap.step - 1).snap_step is None
    at.run()
    control(at, "start").click().run()
    assert lab.runner.wait(60) == Status.FINISHED, lab.runner.snapshot().message  # each stop once


def test_every_chart_and_kpi_says_how_to_read_it(fresh_registry):
    from scansnap_core.scan_snap.explain import KPIS, LOOK_FOR, VIEWS

    at = page({"steps": "20"})
    control(at, "start").click().run()
    assert lab_of(fresh_registry).runner.wait(60) == Status.FINISHED
    at.run()
    captions = [c.value for c in at.caption]
    for view in ("attention", "logit_trajectories", "attention_history"):  # the main charts and the second row
        assert VIEWS[view].short in captions
    read = [e for e in at.expander if e.label == "How to read this"]
    assert len(read) == 3 and VIEWS["attention"].more in [m.value for e in read for m in e.markdown]
    assert [m.help for m in at.metric][1:3] == [KPIS["loss"], KPIS["entropy"]]
    (look,) = [e for e in at.expander if e.label == "What to look for"]
    assert look.markdown[0].value == LOOK_FOR


def test_a_fixed_logit_axis_shows_how_little_a_run_moved(fresh_registry):
    """With η_Y = 10, η_Z = 0.1 the auto-scaled logit chart looked like the default run's."""
    from scansnap_core.scan_snap import figures

    at = page({"eta_y": "10", "eta_z": "0.1", "steps": "20"})
    control(at, "start").click().run()
    assert lab_of(fresh_registry).runner.wait(60) == Status.FINISHED
    at.run()
    assert at.selectbox(key="logit_axis").value == "auto"
    at.selectbox(key="logit_axis").set_value("±1").run()
    assert at.selectbox(key="logit_axis").value == "±1" and not at.exception
    data = lab_of(fresh_registry).runner.snapshot().data
    assert figures.logit_trajectories(data).layout.yaxis.range is None  # auto: plotly scales to the data
    moved = max(float(abs(r.logits).max()) for r in data.records)
    assert moved < 0.2 and list(figures.logit_trajectories(data, z_limit=1.0).layout.yaxis.range) == [-1.0, 1.0]
