"""A server stopped with SIGTERM while a sweep and a run train (a container stop, a systemd restart)
ends cleanly: it used to abort with "terminate called without an active exception" because a worker
was still inside torch when the interpreter ended."""

import signal

from browser_helpers import needs_chromium
from conftest import streamlit_process


@needs_chromium
def test_sigterm_with_a_sweep_and_a_run_training_ends_cleanly(browser, tmp_path):
    log = tmp_path / "streamlit.log"
    with streamlit_process(log) as (url, server):
        sweep = browser.new_context().new_page()
        sweep.goto(url + "/sweep")
        sweep.get_by_role("button", name="Run sweep").click(timeout=60_000)
        sweep.get_by_role("button", name="Cancel sweep").wait_for(timeout=30_000)
        run = browser.new_context().new_page()
        run.goto(url + "/?steps=100000")
        run.get_by_role("button", name="Start").click(timeout=60_000)
        run.get_by_role("button", name="Pause", exact=True).wait_for(timeout=30_000)  # both train now
        server.send_signal(signal.SIGTERM)
        assert server.wait(60) == 0
    text = log.read_text()
    assert "Stopping..." in text and "terminate called" not in text and "Traceback" not in text
