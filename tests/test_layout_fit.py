"""Every page at a lecture hall's 1600 × 1000 and a student's 1280 × 720: no KPI, widget label, button,
heading or chart title is cut, and on the Live Lab the KPIs and both main charts fit on the first screen
(a student on a 1280 × 720 laptop saw "not yet / 3…", "(60 of 990 d" and a logit plot 175 px wide)."""

import re

import pytest
from playwright.sync_api import expect

from browser_helpers import MAIN_CHARTS, needs_chromium, open_page, shot, truncated

SIZES = [(1600, 1000), (1280, 720)]


@needs_chromium
@pytest.mark.parametrize("width, height", SIZES)
def test_the_live_lab_fits_with_nothing_cut(server, browser, width, height):
    page, errors = open_page(browser, server + "/?preset=fig3&steps=60", width=width, height=height)
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_text("Finished 60 steps.")).to_be_visible(timeout=60_000)
    page.wait_for_timeout(1500)  # the last chart refresh
    page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollTo(0, 0)")
    charts = page.locator(MAIN_CHARTS)
    expect(charts.first).to_be_visible()
    for i in (0, 1):  # the heatmap and the logits, whole, on the first screen with the KPIs
        box = charts.nth(i).bounding_box()
        assert box["y"] > 0 and box["y"] + box["height"] <= height, (i, box)
    kpis = page.get_by_test_id("stMetricValue")
    assert kpis.count() == 5 and all(0 < kpis.nth(i).bounding_box()["y"] < height for i in range(5))
    logits = charts.nth(1).locator(".nsewdrag").first.bounding_box()  # the plot area
    assert logits["width"] > 0.55 * charts.nth(1).bounding_box()["width"]  # not squeezed by its legend
    shot(page, f"live-lab-{width}x{height}")
    assert truncated(page) == [] and not errors


@needs_chromium
@pytest.mark.parametrize("width, height", SIZES)
@pytest.mark.parametrize("path, ready", [("/theory", None), ("/sweep", "Run sweep"),
                                         ("/compare", "Start")])
def test_every_other_page_fits_with_nothing_cut(server, browser, width, height, path, ready):
    page, errors = open_page(browser, server + path, ready_button=ready, width=width, height=height)
    if path == "/compare":
        page.get_by_role("button", name="Start").click()
        expect(page.get_by_text(re.compile(r"Finished \d+ steps"))).to_be_visible(timeout=90_000)
    page.wait_for_timeout(2500)  # charts drawn
    shot(page, f"{path.strip('/')}-{width}x{height}")
    assert truncated(page) == [] and not errors
