"""Live Lab responsiveness in a real browser: time from pressing Start to the first chart
update, live KPI refreshes per second while training, and how often the (in-place) charts
were redrawn and what one redraw cost the page.

Starts `streamlit run app.py` on a free port, drives Debian's Chromium with Playwright, and
prints Markdown.  A refresh is counted each time the "Step" KPI shown in the page changes
(sampled every 20 ms inside the page, so the page's own rendering load is what limits it).

    python benchmarks/bench_ui.py [--seconds 10] [--presets syn-small fig3] [--sweep]

With --sweep it also times the Learning-rate sweep page's default grid (the paper's Fig. 6:
640 runs x 100 steps) from the click on "Run sweep" to the "Finished" message.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
from playwright.sync_api import sync_playwright

from browsing import CHROMIUM_ARGS, KPI_COUNTER, STEP_ABOVE_ZERO

ROOT = Path(__file__).resolve().parents[1]


#: how the app's server is started: its launcher (``make run``, the Docker image), or Streamlit's own CLI
LAUNCHERS = {"launcher": ["-m", "scansnap_app.serve"], "streamlit": ["-m", "streamlit", "run", "app.py"]}


def serve(launcher: str = "launcher") -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, *LAUNCHERS[launcher], "--server.port", str(port)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok":
                return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("streamlit did not start")


def click_when_ready(browser, url: str, button: str):
    """Open `url`, wait for its first script run, click `button`; returns (page, time of the click)."""
    page = browser.new_page(viewport={"width": 1500, "height": 1400})
    page.goto(url)
    page.get_by_role("button", name=button).wait_for(timeout=60_000)
    page.wait_for_timeout(1000)
    start = time.perf_counter()
    page.get_by_role("button", name=button).click()
    return page, start


def measure(browser, url: str, preset: str, seconds: float) -> tuple[float, float, float, float, str]:
    page, start = click_when_ready(browser, f"{url}/?preset={preset}&steps=1000000", "Start")
    page.wait_for_function(STEP_ABOVE_ZERO, timeout=60_000, polling=20)
    first = time.perf_counter() - start
    page.wait_for_timeout(2000)
    page.evaluate(KPI_COUNTER)
    page.evaluate("() => { window.__scansnapCharts.draws = []; }")
    t = time.perf_counter()
    page.wait_for_timeout(seconds * 1000)
    elapsed = time.perf_counter() - t
    rate = page.evaluate("() => window.__n") / elapsed
    draws = page.evaluate("() => window.__scansnapCharts.draws.map(d => d[1])")
    progress = page.get_by_test_id("stProgress").inner_text().strip()
    page.get_by_role("button", name="Pause", exact=True).click()
    page.close()
    return first, rate, len(draws) / elapsed, float(np.median(draws)) if draws else float("nan"), progress


def measure_sweep(browser, url: str) -> float:
    page, start = click_when_ready(browser, f"{url}/sweep", "Run sweep")
    page.get_by_text("Finished 640 runs").wait_for(timeout=600_000)
    seconds = time.perf_counter() - start
    page.close()
    return seconds


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=10.0, help="how long to count refreshes")
    p.add_argument("--presets", nargs="+", default=["syn-small", "fig3"])
    p.add_argument("--sweep", action="store_true", help="also time the sweep page's default (Fig. 6) grid")
    args = p.parse_args()
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("needs Debian's chromium (apt-get install chromium)")
    proc, url = serve()
    print("# Live Lab responsiveness\n")
    print(f"- {platform.platform()}; os.cpu_count() = {os.cpu_count()}; server, trainer and headless Chromium "
          "share these cores\n")
    print("| preset | Start → first update (s) | KPI refreshes /s | chart redraws /s (all charts) | "
          "median redraw, paint included (ms) | progress line at the end |")
    print("|---|---|---|---|---|---|")
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            for preset in args.presets:
                first, rate, draws, redraw_ms, progress = measure(browser, url, preset, args.seconds)
                print(f"| {preset} | {first:.2f} | {rate:.1f} | {draws:.1f} | {redraw_ms:.0f} | {progress} |",
                      flush=True)
            if args.sweep:
                print(f"\nSweep page, default grid (640 runs x 100 steps), click to 'Finished': "
                      f"{measure_sweep(browser, url):.1f} s", flush=True)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
