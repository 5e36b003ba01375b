"""What happens to a page's run when the page goes away or the server does: a closed or reloaded tab gives
its training slot and memory back within seconds (it used to hold them 120–130 s, so one client could
hold every slot by reloading), and a page that reconnects to a restarted server says its run was lost
(it used to start over silently)."""

import signal
import time

import pytest
from playwright.sync_api import expect

from browser_helpers import needs_chromium
from conftest import _free_port, streamlit_process
from scansnap_app import sessions, url_state
from scansnap_core.lab.runner import Runner, Status
from test_live_lab import control, forget_labs, page
from test_runner import Counter

pytestmark = pytest.mark.usefixtures("fresh_registry")


def test_a_disconnected_page_loses_its_run_after_the_grace_period_and_a_reconnected_one_keeps_it():
    connected = {"tab-1": True, "tab-2": True, "tab-3": True}
    registry = sessions.Registry(max_training=2, idle_ttl=120, disconnect_grace=15, connected=connected.get)
    labs = {}
    for sid, tab in (("a", "tab-1"), ("b", "tab-2")):
        labs[sid] = registry.lab(sid, lambda: Runner({"steps": 10**9}, build=Counter))
        labs[sid].page = tab
        labs[sid].runner.start()
    registry.track_sweep("c-sweep", job := _FakeJob())
    registry._sweeps["c-sweep"].page = "tab-3"
    t = time.monotonic()
    assert registry.reap(now=t) == [] and registry.training_count() == 3
    connected.update({"tab-1": False, "tab-2": False, "tab-3": False})  # tab 1 reloads, 2 has a blip, 3 closes
    assert registry.reap(now=t + 1) == []  # within the grace period
    connected["tab-2"] = True  # the same tab reconnected
    assert registry.reap(now=t + 10) == []
    assert sorted(registry.reap(now=t + 17)) == ["a", "c-sweep"]  # 16 s after the first check found them gone
    assert labs["a"].runner.status == Status.STOPPED and not labs["a"].runner.built and job.cancelled
    assert labs["b"].runner.status == Status.RUNNING and registry.training_count() == 1
    labs["b"].runner.stop()


class _FakeJob:
    running, cancelled, memory_bytes = True, False, 0

    def cancel(self, wait: float = 0) -> None:
        self.cancelled, self.running = True, False


def test_a_page_with_a_run_marks_its_url_and_a_foreign_mark_says_the_run_was_lost(fresh_registry):
    at = page()
    assert url_state.RUN_MARK not in at.query_params
    control(at, "step").click().run()
    assert at.query_params[url_state.RUN_MARK] == url_state.SERVER_ID  # this server's run
    control(at, "reset").click().run()
    assert url_state.RUN_MARK not in at.query_params

    forget_labs(fresh_registry)
    at = page({"preset": "fig3", "eta_z": "0.5", url_state.RUN_MARK: "0ldserve"})  # a tab back after a restart
    assert [w.value for w in at.warning] == [url_state.LOST_RUN]
    assert at.session_state["preset"] == "fig3" and at.session_state["eta_z"] == 0.5  # settings restored
    assert url_state.RUN_MARK not in at.query_params  # said once
    forget_labs(fresh_registry)
    at = page({url_state.RUN_MARK: url_state.SERVER_ID})  # a link copied from a page of this server
    assert not at.warning and url_state.RUN_MARK not in at.query_params


@needs_chromium
def test_a_reloading_client_cannot_hold_the_training_slots(browser, tmp_path):
    """With one training slot, a tab that trains and reloads gets to train again within seconds."""
    env = dict(SCANSNAP_MAX_TRAINING="1", SCANSNAP_DISCONNECT_GRACE="1")
    with streamlit_process(tmp_path / "streamlit.log", **env) as (url, _):
        tab = browser.new_context().new_page()
        tab.goto(url + "/?steps=1000000")
        tab.get_by_role("button", name="Start").click(timeout=60_000)
        expect(tab.get_by_role("button", name="Pause", exact=True)).to_be_visible(timeout=30_000)
        started = time.monotonic()
        for attempt in range(12):  # the old run must be reclaimed within a minute (it used to take 120-130 s)
            tab.reload()
            tab.get_by_role("button", name="Start").click(timeout=60_000)
            pause = tab.get_by_role("button", name="Pause", exact=True)
            busy = tab.get_by_text("Server busy")
            expect(pause.or_(busy)).to_be_visible(timeout=30_000)
            if pause.is_visible():
                break
            tab.wait_for_timeout(3000)
        assert pause.is_visible() and time.monotonic() - started < 60


@needs_chromium
def test_a_page_that_reconnects_to_a_restarted_server_says_its_run_was_lost(browser, tmp_path):
    log, port = tmp_path / "streamlit.log", _free_port()
    tab = browser.new_context().new_page()
    with streamlit_process(log, port=port) as (url, server):
        tab.goto(url + "/?preset=fig3&steps=1000000")
        tab.get_by_role("button", name="Start").click(timeout=60_000)
        expect(tab.get_by_role("button", name="Pause", exact=True)).to_be_visible(timeout=30_000)
        assert f"{url_state.RUN_MARK}=" in tab.url
        server.send_signal(signal.SIGTERM)
        assert server.wait(60) == 0
    with streamlit_process(log, port=port):
        expect(tab.get_by_text("The server restarted since this page started its run")).to_be_visible(timeout=60_000)
        expect(tab.get_by_role("button", name="Start")).to_be_visible()
        assert "preset=fig3" in tab.url and f"{url_state.RUN_MARK}=" not in tab.url


@needs_chromium
def test_every_pages_settings_survive_a_visit_to_another_page(server, browser):
    """Streamlit drops a widget's value when a run does not draw it; without persisting the settings, coming back to
    the Live Lab after another page raised KeyError, and the study pages came back with their defaults."""
    import re

    from browser_helpers import open_page

    def visit(page, name: str, url: str) -> None:
        page.get_by_test_id("stSidebarNav").get_by_text(name, exact=True).click()
        page.wait_for_url(re.compile(url), timeout=30_000)
        page.wait_for_timeout(1500)
        assert page.get_by_test_id("stException").count() == 0, name

    for start, name, kept in (("/?preset=fig3", "Live Lab", r"/\?preset=fig3"),
                              ("/induction?seed=5&samples=250", "Induction heads", r"/induction\?.*samples=250&seed=5"),
                              ("/joma?demo=reduced&reduced.tokens=12", "JoMA", r"/joma\?demo=reduced&reduced\.tokens=12")):
        page, errors = open_page(browser, server + start)
        visit(page, "Theory explorer", r"/theory")
        visit(page, name, kept)
        assert not errors
        page.context.close()
