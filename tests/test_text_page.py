"""The real-text page: AppTest (a step, URL state and bad values, the learning-rate comparison) and a real browser
(uploads, good and bad, then a run to its end)."""

import time

import pytest
from playwright.sync_api import expect

from apptest_helpers import metrics, open_app_page, run_button
from browser_helpers import needs_chromium, open_page, shot
from scansnap_core.text.config import TextConfig
from scansnap_core.text.corpus import corpus

pytestmark = pytest.mark.usefixtures("fresh_registry")


def runner_of(registry):
    (lab,) = [lab for sid, lab in registry._labs.items() if sid.endswith("-text")]
    return lab.runner


def test_the_page_opens_ready_and_steps(fresh_registry):
    at = open_app_page("real_text")
    assert not at.exception and not at.error
    assert runner_of(fresh_registry).config == TextConfig()
    run_button(at, "text_", "step").click().run()
    assert runner_of(fresh_registry).snapshot().step == 1
    shown = metrics(at)
    assert float(shown["Attention entropy"]) == pytest.approx(2.62, abs=0.02) and shown["Drift, layer 1"] == "–"
    assert any(c.value.startswith("The paper: the lowest layer's attention turns sparse") for c in at.caption)
    at.multiselect(key="text_map_steps").set_value([0, 400]).run()  # step 400 is not reached yet: left out
    assert not at.exception and not at.error


def test_the_url_sets_the_run_and_bad_values_get_notices(fresh_registry):
    at = open_app_page("real_text", {"lr": "1", "steps": "60", "vocab": "5", "corpus": "upload-0123456789ab",
                                     "bogus": "x"})
    assert not at.exception
    notices = [w.value for w in at.warning]
    assert any("vocab = 5 is invalid: allowed integer 100 <= vocab <= 20000 — using 2000 instead" in n
               for n in notices)
    assert any("corpus = 'upload-0123456789ab' is invalid" in n for n in notices)
    assert any("bogus = 'x' is not a setting of this page" in n for n in notices)
    assert runner_of(fresh_registry).config == TextConfig(lr=1.0, steps=60)
    assert dict(at.query_params) == {"lr": "1.0", "steps": "60"}
    at.number_input(key="text_vocab").set_value(20000).run()
    at.number_input(key="text_batch").set_value(128).run()
    assert not at.error  # the largest vocabulary with the largest batch fits (about 1.2 GB)
    at.number_input(key="text_context").set_value(128).run()
    assert not at.exception and [e.value for e in at.error] == [
        "Invalid setting: vocab = 20000 is invalid: allowed a run within 2,048 MB (this one needs about 4,072 MB: a "
        "smaller vocabulary, batch, context or width). Training keeps the last valid configuration."]
    at.number_input(key="text_context").set_value(35).run()
    at.number_input(key="text_batch").set_value(20).run()
    at.number_input(key="text_drift_every").set_value(30).run()
    assert [e.value for e in at.error] == ["Invalid setting: drift_every = 30 is invalid: allowed a multiple of 20 "
                                           "(snapshots are taken every 20 steps). Training keeps the last valid "
                                           "configuration."]


def test_an_upload_the_server_let_go_of_is_named_and_replaced(fresh_registry, monkeypatch):
    from scansnap_core.text import corpus as corpus_module

    words = corpus("topics").words[corpus("topics").train_codes[:25000]]
    name = corpus_module.register_upload("kept <b>notes</b>.txt", " ".join(words).encode())
    at = open_app_page("real_text", {"corpus": name})
    assert runner_of(fresh_registry).config.corpus == name and not at.warning
    monkeypatch.setattr(corpus_module, "_UPLOADS", corpus_module.OrderedDict())  # the server lets go of it
    at.run()
    assert not at.exception and [w.value for w in at.warning] == [
        "The server no longer keeps `kept <b>notes</b>.txt` (it keeps the most recent uploads while it runs): upload "
        "it again to train on it."]
    run_button(at, "text_", "reset").click().run()
    assert not at.exception and runner_of(fresh_registry).config == TextConfig()


def test_the_learning_rate_comparison_draws_fig_10(fresh_registry):
    at = open_app_page("real_text")
    at.multiselect(key="text_cmp_lrs_sgd").set_value([1.0, 5.0]).run()
    at.number_input(key="text_cmp_steps").set_value(100).run()
    at.button(key="text_cmp_run").click().run()
    job = at.session_state["text_compare_job"]
    deadline = time.monotonic() + 120
    while job.running and time.monotonic() < deadline:
        time.sleep(0.1)
    at.run()
    assert job.status == "finished" and not at.exception
    assert [row["lr"] for _, row in job.table.iterrows()] == [1.0, 5.0]
    assert any(s.value.startswith("Finished 2 runs") for s in at.success)
    assert any(c.value.startswith("Layer 1's final entropy, mean over seeds: lr 1: ") for c in at.caption)


@needs_chromium
def test_uploads_and_a_run_in_a_browser(server, browser, tmp_path):
    words = corpus("topics").words[corpus("topics").train_codes[:25000]]
    essay, picture = tmp_path / "my essay.txt", tmp_path / "notes.txt"
    essay.write_text(" ".join(words))
    picture.write_bytes(b"**not** text \x00\x01\x02")
    page, errors = open_page(browser, server + "/real_text?steps=60&drift_every=20", height=2000)
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_text("Use your own text").click()
    uploads = page.locator("input[type=file]")
    uploads.first.set_input_files(str(picture))
    expect(page.get_by_text("notes.txt looks binary (it contains NUL bytes)")).to_be_visible(timeout=30_000)
    uploads.first.set_input_files(str(essay))
    expect(page.get_by_text("Training on my essay.txt: 22,500 training and 2,500 validation tokens.")).to_be_visible(
        timeout=30_000)
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Start", exact=True).click()
    page.get_by_role("button", name="Finished").wait_for(timeout=120_000)
    expect(page.get_by_text("step 60 of 60")).to_be_visible(timeout=30_000)
    assert page.locator(".scansnap-live-chart").count() == 4
    expect(page.get_by_text("memorising the 22,500 training tokens", exact=False)).to_be_visible()  # the upload
    shot(page, "real-text-finished")
    assert not errors
