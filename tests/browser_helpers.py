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


def open_page(browser, url: str, ready_button: str = "Start", width: int = 1500, height: int = 1400):
    """A fresh browser context on `url`, once the button `ready_button` is shown; returns
    (page, list collecting uncaught page errors)."""
    page = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.get_by_role("button", name=ready_button).first.wait_for(timeout=60_000)
    page.wait_for_timeout(800)  # let the first script run finish before clicking
    return page, errors


def step_shown(page) -> str:
    """The Live Lab's "Step" KPI (the first metric of the KPI row), e.g. "120 / 100,000"."""
    return page.get_by_test_id("stMetricValue").first.inner_text()


def pick_preset(page, label: str) -> None:
    """Choose a preset in the sidebar's first select box."""
    page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").first.click()
    page.get_by_role("option", name=label).click()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def png_size(blob: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's header."""
    assert blob[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(blob[16:20], "big"), int.from_bytes(blob[20:24], "big")
