"""Shared pieces of the real-browser tests (Playwright driving the system Chromium against a
real `streamlit run`; the `server` and `browser` fixtures live in conftest.py)."""

import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from browsing import CHROMIUM_ARGS  # noqa: E402,F401  (shared with the browser benchmarks)

SHOTS = ROOT / "docs" / "screenshots" / "browser-tests"  # refreshed on every run; not tracked
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None,
                                    reason="no chromium installed: browser tests need /usr/bin/chromium")


def open_page(browser, url: str, ready_button: str | None = "Start", width: int = 1500, height: int = 1400):
    """A fresh browser context on `url`, once the button `ready_button` is shown (None: a KPI); returns
    (page, list collecting uncaught page errors)."""
    page = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    ready = page.get_by_role("button", name=ready_button) if ready_button else page.get_by_test_id("stMetricValue")
    ready.first.wait_for(timeout=60_000)
    page.wait_for_timeout(800)  # let the first script run finish before clicking
    return page, errors


def step_shown(page) -> str:
    """The Live Lab's "Step" KPI (the first metric of the KPI row), e.g. "120 / 100,000"."""
    return page.get_by_test_id("stMetricValue").first.inner_text()


def pick_preset(page, label: str) -> None:
    """Choose a preset in the sidebar's first select box."""
    page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").first.click()
    page.get_by_role("option", name=label).click()


def render_animation(page, fmt: str, seconds: int, steps: int):
    """Fill the export panel's animation settings (fmt: "mp4" or "gif"), press Render animation and return its
    download button once it is there."""
    page.get_by_text({"mp4": "MP4 · 1920×1080", "gif": "GIF · 960×540"}[fmt]).click()
    page.get_by_role("spinbutton", name="Length (s)").fill(str(seconds))
    page.get_by_role("spinbutton", name="Steps shown").fill(str(steps))
    page.get_by_role("spinbutton", name="Steps shown").press("Enter")
    page.wait_for_timeout(500)
    page.get_by_role("button", name="Render animation").click()
    download = page.get_by_role("button", name=f"Download animation.{fmt}")
    download.wait_for(timeout=120_000)
    return download


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def png_size(blob: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's header."""
    assert blob[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(blob[16:20], "big"), int.from_bytes(blob[20:24], "big")


#: texts a reader must see whole: KPI labels and values, widget labels, buttons, headings, chart titles and
#: legends; returns a description of each one that is cut (an ellipsis, or text past its box or its chart)
TRUNCATED = """() => {
  const cut = [];
  const boxes = document.querySelectorAll('[data-testid=stMetricValue], [data-testid=stMetricLabel], '
    + '[data-testid=stWidgetLabel], [data-testid=stMain] button, [data-testid=stSidebar] button, '
    + '[data-testid=stMain] h1, [data-testid=stMain] h2, [data-testid=stMain] h3, [data-testid=stTab], '
    + '[data-testid=stMultiSelect]');
  for (const el of boxes) {
    if (!el.offsetParent) continue;  // hidden
    for (const node of [el, ...el.querySelectorAll('*')]) {
      if (node.scrollWidth > node.clientWidth + 1 && getComputedStyle(node).overflow !== 'visible'
          && node.innerText.trim()) { cut.push('text: ' + el.innerText.trim().slice(0, 60)); break; }
    }
  }
  for (const plot of document.querySelectorAll('.js-plotly-plot')) {
    const frame = plot.getBoundingClientRect();
    for (const t of plot.querySelectorAll('.gtitle, .legendtext, .annotation-text')) {
      const r = t.getBoundingClientRect();
      if (r.width && (r.left < frame.left - 1 || r.right > frame.right + 1))
        cut.push('chart: ' + t.textContent.slice(0, 60));
    }
  }
  return cut;
}"""


def truncated(page) -> list[str]:
    """What :data:`TRUNCATED` finds on the page."""
    return page.evaluate(TRUNCATED)

#: the live charts of a page's main area (the Live Lab's sidebar has a small one of its own, P(l | class 1))
MAIN_CHARTS = "[data-testid=stMain] .scansnap-live-chart"
