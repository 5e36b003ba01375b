"""What a first visitor and a first Start wait for, in a real browser: a fresh server, started by the app's
launcher (`python -m scansnap_app.serve`, what `make run` and the Docker image run) and, side by side, by
Streamlit's own `streamlit run app.py`; Debian's Chromium (already running) opens the Live Lab.  Prints Markdown.

    python benchmarks/bench_first_visit.py [--rounds 2] [--preset syn-small]

Per round and launcher, with a new server each time:
- server ready: from launching the server process to its health check answering;
- first visit: from `goto` to the Start button (interactive controls), and to the first chart drawn;
- second visit (a new tab on the same, now warm, server): the same two times;
- Start: from the click (a capture-phase listener in the page) to the first change of the step counter
  and to the first chart redrawn, timed inside the page (5 ms polling).
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import time

from playwright.sync_api import sync_playwright

from bench_ui import LAUNCHERS, serve
from browsing import CHROMIUM_ARGS

#: in-page probe: the click time, and the first change of the step KPI and of the charts' draw count after it
START_PROBE = """() => {
  const kpi = () => { const m = document.querySelector('[data-testid=stMetricValue]'); return m ? m.innerText : ''; };
  const draws = () => (window.__scansnapCharts ? window.__scansnapCharts.draws.length : 0);
  const t = window.__start = { kpi0: kpi(), draws0: draws() };
  document.addEventListener('click', () => { if (!t.click) t.click = performance.now(); }, true);
  const iv = setInterval(() => {
    if (!t.click) return;
    const now = performance.now();
    if (!t.kpi && kpi() !== t.kpi0) t.kpi = now;
    if (!t.chart && draws() > t.draws0) t.chart = now;
    if (t.kpi && t.chart) clearInterval(iv);
  }, 5);
}"""
CHART_DRAWN = "() => (window.__scansnapCharts ? window.__scansnapCharts.draws.length : 0) > 0"


def visit(browser, url: str):
    """Open the Live Lab: (page, seconds to the Start button, seconds to the first chart drawn)."""
    page = browser.new_page(viewport={"width": 1500, "height": 1400})
    start = time.perf_counter()
    page.goto(url)
    page.get_by_role("button", name="Start", exact=True).wait_for(timeout=120_000)
    controls = time.perf_counter() - start
    page.wait_for_function(CHART_DRAWN, timeout=120_000, polling=10)
    return page, controls, time.perf_counter() - start


def press_start(page) -> tuple[float, float]:
    """Seconds from the click on Start to the first changed step counter and to the first redrawn chart."""
    page.wait_for_timeout(1500)  # let the page settle, as a person would
    page.evaluate(START_PROBE)
    page.get_by_role("button", name="Start", exact=True).click()
    page.wait_for_function("() => window.__start.kpi && window.__start.chart", timeout=60_000, polling=20)
    t = page.evaluate("() => window.__start")
    return (t["kpi"] - t["click"]) / 1000, (t["chart"] - t["click"]) / 1000


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--preset", default="syn-small")
    args = p.parse_args()
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("needs Debian's chromium (apt-get install chromium)")
    rows: dict[str, list] = {name: [] for name in LAUNCHERS}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        for launcher in [name for _ in range(args.rounds) for name in LAUNCHERS]:
            launched = time.perf_counter()
            proc, url = serve(launcher)
            ready = time.perf_counter() - launched
            try:
                path = f"{url}/?preset={args.preset}&steps=100000"
                first, first_controls, first_chart = visit(browser, path)
                second, second_controls, second_chart = visit(browser, path)
                kpi, chart = press_start(second)
                for page in (first, second):
                    page.close()
            finally:
                proc.terminate()
                proc.wait(10)
            rows[launcher].append((ready, first_controls, first_chart, second_controls, second_chart, kpi, chart))
        browser.close()
    print(f"{platform.platform()}; preset {args.preset}; {args.rounds} rounds (a fresh server each), median and "
          "every round\n")
    names = ["server ready", "first visit: Start button", "first visit: first chart", "second visit: Start button",
             "second visit: first chart", "Start → step counter changed", "Start → chart redrawn"]
    print("| what | " + " | ".join(f"{' '.join(LAUNCHERS[n])[3:]} (s)" for n in LAUNCHERS) + " |")
    print("|---|" + "---:|" * len(LAUNCHERS))
    for i, name in enumerate(names):
        cells = []
        for launcher in LAUNCHERS:
            values = [r[i] for r in rows[launcher]]
            cells.append(f"{statistics.median(values):.2f} ({', '.join(f'{v:.2f}' for v in values)})")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
