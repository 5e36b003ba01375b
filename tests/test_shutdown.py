"""A server stopped with SIGTERM while a sweep and a run train (a container stop, a systemd restart)
ends cleanly: it used to abort with "terminate called without an active exception" because a worker
was still inside torch when the interpreter ended."""

import signal
import subprocess
import sys
import time
import urllib.request

from browser_helpers import needs_chromium
from conftest import ROOT, _free_port


@needs_chromium
def test_sigterm_with_a_sweep_and_a_run_training_ends_cleanly(browser, tmp_path):
    port, log = _free_port(), tmp_path / "streamlit.log"
    with open(log, "w") as out:
        server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port",
                                   str(port), "--server.headless", "true"], cwd=ROOT, stdout=out,
                                  stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.3)
        context = browser.new_context()
        sweep = context.new_page()
        sweep.goto(url + "/sweep")
        sweep.get_by_role("button", name="Run sweep").click(timeout=60_000)
        sweep.get_by_role("button", name="Cancel sweep").wait_for(timeout=30_000)
        run = browser.new_context().new_page()
        run.goto(url + "/?steps=100000")
        run.get_by_role("button", name="Start").click(timeout=60_000)
        run.get_by_role("button", name="Pause").wait_for(timeout=30_000)  # both train now
        server.send_signal(signal.SIGTERM)
        assert server.wait(60) == 0
    finally:
        if server.poll() is None:
            server.kill()
    text = log.read_text()
    assert "Stopping..." in text and "terminate called" not in text and "Traceback" not in text
