"""The Induction heads page: AppTest (controls -> config, URL state, bad input, run controls) and a real browser
(Start with the defaults, the three phases and their figures)."""

import pytest
from playwright.sync_api import expect

from apptest_helpers import metrics, open_app_page, run_button
from browser_helpers import needs_chromium, open_page, render_animation, shot
from scansnap_core.induction.config import InductionConfig, preset

pytestmark = pytest.mark.usefixtures("fresh_registry")


def page(query: dict | None = None):
    return open_app_page("induction", query)


def runner_of(registry):
    (lab,) = registry._labs.values()
    return lab.runner


def control(at, name: str):
    return run_button(at, "ind_", name)


def test_the_defaults_are_ready_to_start_with_the_theory_beside_them(fresh_registry):
    at = page()
    assert not at.exception and not at.error
    assert runner_of(fresh_registry).config == InductionConfig()
    assert control(at, "start").label == "Start"
    assert metrics(at)["Selected heads"] == "none yet" and metrics(at)["Matching mass"] == "–"
    assert any(c.value.startswith("Theory: the modified χ²-MI is largest for distances {1,2}") for c in at.caption)
    control(at, "step").click().run()
    assert runner_of(fresh_registry).snapshot().step == 1
    assert metrics(at)["Stage"] == "I" and metrics(at)["Training loss"] == "0.733"  # a ≈ 0: about the unigram's 0.734
    assert [m.delta for m in at.metric][:2] == ["selector c", "p = 0.30"]


def test_a_url_restores_the_settings_and_a_bad_value_gets_a_notice(fresh_registry):
    at = page({"preset": "mixture-first", "samples": "250", "alpha": "-2", "heads": "7"})
    assert not at.exception
    notices = [w.value for w in at.warning]
    assert any("alpha = -2.0 is invalid: allowed 0 < alpha <= 30" in n for n in notices)
    assert any("heads = 7 is invalid: allowed integer 2 <= heads <= 4" in n for n in notices)
    assert runner_of(fresh_registry).config == preset("mixture-first", samples=250)
    assert dict(at.query_params) == {"preset": "mixture-first", "samples": "250"}
    assert any("not the exact Bayes predictor for the mixture" in c.value for c in at.caption)


def test_settings_that_do_not_fit_are_named_and_a_change_mid_run_waits_for_reset(fresh_registry):
    at = page()
    at.slider(key="ind_window").set_value(2).run()
    assert not at.exception
    assert [e.value for e in at.error] == ["Invalid setting: window = 2 is invalid: allowed heads <= window <= 5 "
                                           "(heads = 3). Training keeps the last valid configuration."]
    at.slider(key="ind_window").set_value(3).run()
    control(at, "step").click().run()
    at.select_slider(key="ind_samples").set_value(250).run()
    assert any("apply when you press **Reset**" in i.value for i in at.info)
    assert runner_of(fresh_registry).config.samples == 1000
    control(at, "reset").click().run()
    assert runner_of(fresh_registry).config.samples == 250 and runner_of(fresh_registry).snapshot().step == 0
    at.selectbox(key="ind_preset").set_value("joint").run()  # nothing trained since the reset: rebuilt at once
    assert runner_of(fresh_registry).config == preset("joint")
    assert at.radio(key="ind_schedule").value == "joint"


@needs_chromium
def test_start_shows_the_three_phases_in_a_browser(server, browser):
    """A new user's first run, smaller so it finishes quickly on a loaded CI machine (N = 250, L = 48)."""
    page_, errors = open_page(browser, server + "/induction?samples=250&length=48", height=2400)
    page_.get_by_role("button", name="Start").click()
    page_.get_by_role("button", name="Finished").wait_for(timeout=120_000)
    expect(page_.get_by_text("step 400 of 400")).to_be_visible(timeout=30_000)
    values = page_.get_by_test_id("stMetricValue").all_inner_texts()
    assert values[:3] == ["III", "{1,2}", "{1,2}"]
    assert "p = 1.00" in page_.get_by_test_id("stMetricDelta").all_inner_texts()
    assert float(values[5].rstrip("%")) >= 85  # matching mass on fresh sequences (A6 5)
    charts = page_.locator(".scansnap-live-chart .main-svg")
    expect(charts.first).to_be_visible()
    assert page_.locator(".scansnap-live-chart").count() == 6
    expect(page_.get_by_text("(t_I)").first).to_be_visible()
    shot(page_, "induction-finished")

    # the export panel animates any chart of the run (issue 17): a short GIF of the loss, read back
    page_.get_by_text("Export: figure pack, animation and reproducing command").click()
    chart = page_.get_by_test_id("stSelectbox").filter(has_text="Chart to animate")
    expect(chart).to_be_visible()
    page_.wait_for_timeout(500)
    chart.click()
    page_.get_by_role("option", name="loss", exact=True).click()
    download = render_animation(page_, "gif", seconds=1, steps=4)
    assert "(step 400: 960x540, 4 frames, each held equally (1 s), 4 distinct steps" in download.inner_text()
    with page_.expect_download() as info:
        download.click()
    assert info.value.suggested_filename == "ind-loss-step400.gif"
    from PIL import Image

    gif = Image.open(info.value.path())
    assert gif.size == (960, 540) and gif.n_frames == 4
    assert not errors


def test_url_fields_that_only_fit_together_are_read_together(fresh_registry):
    """heads = 4 alone does not fit the preset's window of 3; with window = 5 in the same URL it does."""
    at = page({"heads": "4", "window": "5", "degree": "3", "vocab": "5", "parents": "1,2,3", "samples": "2000",
               "length": "128", "alpha": "**bold**"})
    assert not at.exception
    assert [w.value for w in at.warning] == ["Ignored a URL value: `alpha = '**bold**' is invalid: allowed 0 < alpha "
                                             "<= 30 — using 0.1 instead`"]  # shown as typed, not as Markdown
    cfg = runner_of(fresh_registry).config
    assert (cfg.heads, cfg.window, cfg.degree, cfg.vocab, cfg.parents) == (4, 5, 3, 5, (1, 2, 3))
    assert not runner_of(fresh_registry).built  # about 190 MB: built on Start, not on open
    assert any("built when you press Start or Step" in i.value for i in at.info)
    assert metrics(at) == {}
