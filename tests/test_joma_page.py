"""The JoMA page: AppTest (demo picker, URL state, bad input, a run per demo) and a real browser (the reduced demo
with its defaults goes sparse, then dense)."""

import pytest
from playwright.sync_api import expect

from apptest_helpers import metrics, open_app_page, run_button
from browser_helpers import needs_chromium, open_page, shot
from scansnap_core.joma.config import InvariantConfig, ReducedConfig

pytestmark = pytest.mark.usefixtures("fresh_registry")


def page(query: dict | None = None):
    return open_app_page("joma", query)


def runner_of(registry, demo: str):
    (lab,) = [lab for sid, lab in registry._labs.items() if sid.endswith(f"-joma-{demo}")]
    return lab.runner


def control(at, demo: str, name: str):
    return run_button(at, f"joma_{demo}_", name)


def test_the_invariant_demo_opens_ready_and_steps(fresh_registry):
    at = page()
    assert not at.exception and not at.error
    assert runner_of(fresh_registry, "invariant").config == InvariantConfig()
    assert metrics(at)["NC now"] == "1.0000"
    control(at, "invariant", "step").click().run()
    assert runner_of(fresh_registry, "invariant").snapshot().step == 1
    assert any(c.value.startswith("Theory: z ≈ Σ_k (v_k∘v_k − ‖v_k‖² b̄) / 2T + c") for c in at.caption)


def test_a_url_picks_the_demo_and_its_settings_and_bad_values_get_notices(fresh_registry):
    at = page({"demo": "reduced", "reduced.temperature": "2", "reduced.tokens": "99", "invariant.lr": "-1",
               "bogus": "1"})
    assert not at.exception
    notices = [w.value for w in at.warning]
    assert any("tokens = 99 is invalid: allowed integer 2 <= tokens <= 30" in n for n in notices)
    assert any("lr = -1.0 is invalid: allowed 0 < lr <= 1 — using 0.1 instead" in n for n in notices)
    assert any("bogus = '1' is not a setting of this page" in n for n in notices)
    assert runner_of(fresh_registry, "reduced").config == ReducedConfig(temperature=2.0)
    assert dict(at.query_params) == {"demo": "reduced", "reduced.temperature": "2.0"}
    at.number_input(key="joma_reduced_mu_high").set_value(0.5).run()
    assert [e.value for e in at.error] == ["Invalid setting: mu_high = 0.5 is invalid: allowed mu_low < mu_high <= "
                                           "10 (mu_low = 1). Training keeps the last valid configuration."]


def test_switching_demos_keeps_each_demos_settings(fresh_registry):
    at = page({"demo": "reduced", "reduced.tokens": "12"})
    at.segmented_control(key="joma_demo").set_value("invariant").run()
    assert not at.exception and runner_of(fresh_registry, "invariant").config == InvariantConfig()
    at.segmented_control(key="joma_demo").set_value("reduced").run()
    assert at.number_input(key="joma_reduced_tokens").value == 12
    assert runner_of(fresh_registry, "reduced").config.tokens == 12


@needs_chromium
def test_the_reduced_demo_goes_sparse_then_dense_in_a_browser(server, browser):
    page_, errors = open_page(browser, server + "/joma?demo=reduced", height=1800)
    page_.get_by_role("button", name="Start").click()
    page_.get_by_role("button", name="Finished").wait_for(timeout=120_000)
    expect(page_.get_by_text("step 5,000 of 5,000")).to_be_visible(timeout=30_000)
    values = dict(zip(page_.get_by_test_id("stMetricLabel").all_inner_texts(),
                      page_.get_by_test_id("stMetricValue").all_inner_texts()))
    assert values["Lowest so far"] == "1.140" and values["Entropy now"] == "1.554"
    assert "step 819" in page_.get_by_test_id("stMetricDelta").all_inner_texts()
    assert page_.locator(".scansnap-live-chart").count() == 3
    shot(page_, "joma-reduced-finished")
    assert not errors


def test_the_transformer_demos_step_and_show_their_theory(fresh_registry):
    at = page({"demo": "lm", "lm.steps": "20"})
    assert not at.exception and not at.error
    control(at, "lm", "step").click().run()
    assert runner_of(fresh_registry, "lm").snapshot().step == 1
    assert set(metrics(at)) == {"Layer 1 entropy", "Loss", "MLP stable rank"}
    assert len(at.dataframe) == 1 and at.dataframe[0].value.shape == (4, 5)  # the authors' WikiText2 numbers
    at.segmented_control(key="joma_demo").set_value("hier").run()
    control(at, "hier", "step").click().run()
    assert not at.exception and runner_of(fresh_registry, "hier").snapshot().step == 1
    assert {"Level 0 correlation", "Level 1 correlation"} <= set(metrics(at))
    at.run()  # the views of the step just taken
    latent = at.selectbox(key="joma_hier_latent")
    assert latent.value[0] == 0 and "level 1, latent 0" in latent.options  # every class is active in some samples
