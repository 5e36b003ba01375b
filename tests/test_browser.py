"""The Live Lab in a real Chromium against a real `streamlit run` (Playwright).

Skips, with the reason shown, only where no chromium is installed; `.ci/run` installs it.
Screenshots of the main views are written to docs/screenshots/browser-tests/ (untracked).
"""

import time
import zipfile

import pytest

from playwright.sync_api import expect

from browser_helpers import (MAIN_CHARTS, SHOTS, needs_chromium, open_page, pick_preset, png_size, render_animation,
                             step_shown)

pytestmark = needs_chromium


def test_start_streams_views_then_pause_replay_and_modebar_export(server, browser, tmp_path):
    page, errors = open_page(browser, server + "/?preset=fig3")
    pick_preset(page, "Syn-Small (Fig. 4)")
    expect(page.get_by_text("M = 34")).to_have_count(1)
    page.get_by_text("Training", exact=True).click()
    steps = page.get_by_role("spinbutton", name="Steps", exact=True)
    steps.fill("100000")
    steps.press("Enter")
    expect(page.get_by_text("0 / 100,000")).to_be_visible(timeout=30_000)
    assert "steps=100000" in page.url and "preset=syn-small" in page.url
    page.get_by_role("button", name="Start").click()
    started = time.perf_counter()
    page.wait_for_function("() => [...document.querySelectorAll('[data-testid=stMetricValue]')]"
                           ".some(e => /^[1-9][0-9,]* \\//.test(e.innerText))", timeout=30_000)
    first_update = time.perf_counter() - started
    step1 = int(step_shown(page).split("/")[0].replace(",", ""))
    page.wait_for_timeout(1500)
    step2 = int(step_shown(page).split("/")[0].replace(",", ""))
    assert step2 > step1 > 0
    heatmap = page.locator(MAIN_CHARTS).first
    expect(heatmap).to_be_visible(timeout=30_000)
    node = heatmap.element_handle()
    title = node.evaluate("el => el.layout.title.text")
    page.wait_for_function("([el, t]) => el.isConnected && el.layout?.title?.text !== t", arg=[node, title],
                           timeout=30_000)  # redrawn in place: the same plot element, a later step
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "live-training.png"), full_page=True)
    page.get_by_role("button", name="Pause", exact=True).click()
    page.get_by_role("button", name="Resume").wait_for(timeout=30_000)
    page.wait_for_timeout(1000)  # let the last live refresh land
    paused = step_shown(page)
    page.wait_for_timeout(1500)
    assert step_shown(page) == paused
    page.get_by_text("Replay: step shown in every view").wait_for()
    slider = page.get_by_role("slider").last
    slider.focus()
    page.keyboard.press("Home")
    page.wait_for_function("() => document.querySelector('" + MAIN_CHARTS + "')?.layout?.title?.text"
                           "?.startsWith('Attention c_n at step 0')", timeout=30_000)
    page.screenshot(path=str(SHOTS / "replay.png"), full_page=True)
    heatmap.hover()
    assert heatmap.locator(".modebar-btn").count() > 3  # the modebar is up, and it offers no upload anywhere
    assert heatmap.locator('.modebar-btn[data-title*="Share"], .modebar-btn[data-title*="Cloud"]').count() == 0
    for fmt, title, magic in (("svg", "Download SVG · 1600×900 (vector)", b"<svg"),
                              ("png", "Download PNG · 1600×900 at 2×", b"\x89PNG")):
        with page.expect_download() as info:
            heatmap.locator(f'.modebar-btn[data-title="{title}"]').click()
        assert info.value.suggested_filename == f"scansnap-attention.{fmt}"
        path = tmp_path / info.value.suggested_filename
        info.value.save_as(path)
        assert magic in path.read_bytes()[:300]
    assert png_size(path.read_bytes()) == (3200, 1800)  # the export size, not the window's
    assert not errors
    print(f"\nTime from Start to the first chart update: {first_update:.2f} s")


def test_second_tab_is_isolated(server, browser):
    a, _ = open_page(browser, server + "/?steps=50000")
    b, _ = open_page(browser, server + "/?steps=50000")
    a.get_by_role("button", name="Start").click()
    a.get_by_role("button", name="Pause", exact=True).wait_for(timeout=30_000)
    a.wait_for_timeout(1500)
    assert step_shown(b).startswith("0 /")
    assert b.get_by_role("button", name="Start").is_visible()
    a.get_by_role("button", name="Pause", exact=True).click()


def test_shared_url_restores_the_controls(server, browser):
    page, _ = open_page(browser, server + "/?preset=fig3&eta_y=2.0&seed=5")
    expect(page.get_by_text("M = 1,002")).to_have_count(1)  # the fig3 layout, from the URL's preset
    page.get_by_text("Training", exact=True).click()
    expect(page.get_by_role("spinbutton", name="Seed")).to_have_value("5")
    expect(page.get_by_text("η_Y / η_Z = 4")).to_have_count(1)
    page.screenshot(path=str(SHOTS / "shared-url.png"))


def test_figure_pack_download(server, browser, tmp_path):
    page, _ = open_page(browser, server + "/?steps=30")
    page.get_by_role("button", name="Start").click()
    page.get_by_text("Finished 30 steps.").wait_for(timeout=60_000)
    page.get_by_text("Export: figure pack, animation and reproducing command").click()
    page.get_by_role("button", name="Prepare figure pack").click()
    button = page.get_by_role("button", name="Download figure pack")
    button.wait_for(timeout=120_000)
    with page.expect_download() as info:
        button.click()
    path = tmp_path / "pack.zip"
    info.value.save_as(path)
    names = set(zipfile.ZipFile(path).namelist())
    assert {"figures/attention.png", "figures/attention.svg", "metrics.csv", "metrics.parquet", "config.json",
            "reproduce.sh"} <= names
    config = zipfile.ZipFile(path).read("config.json")
    assert b'"steps": 30' in config

    # the same panel renders the run as an MP4 (issue 17): a short one, read back from the download
    video = render_animation(page, "mp4", seconds=1, steps=3)
    assert "(step 30: 1920x1080, 30 frames at 30 fps (1 s), 3 distinct steps" in video.inner_text()
    with page.expect_download() as info:
        video.click()
    assert info.value.suggested_filename == "scansnap-step30.mp4"
    info.value.save_as(tmp_path / "run.mp4")
    import imageio_ffmpeg

    assert imageio_ffmpeg.count_frames_and_secs(str(tmp_path / "run.mp4")) == (30, 1.0)


def test_uploading_a_config_restores_it_and_a_bad_file_gets_a_message(server, browser, tmp_path):
    from scansnap_core.scan_snap.presets import preset

    page, errors = open_page(browser, server + "/")
    upload = page.locator('[data-testid="stFileUploader"] input[type="file"]')
    bad = tmp_path / "bad.json"
    bad.write_text('{"train": {"eta_y": -2}}')
    upload.set_input_files(str(bad))
    expect(page.get_by_text("bad.json: eta_y = -2 is invalid: allowed 0 < eta_y")).to_be_visible(
        timeout=30_000)
    good = tmp_path / "good.json"
    good.write_text(preset("syn-small", seed=42, steps=77).to_json())
    upload.set_input_files(str(good))
    expect(page.get_by_text("0 / 77")).to_be_visible(timeout=30_000)
    assert "seed=42" in page.url and "steps=77" in page.url
    assert not errors


_CHART_FACTS = """(sel) => [...document.querySelectorAll(sel)].map((p) => ({
  height: p.getBoundingClientRect().height, font: p._fullLayout.font.size, ink: p._fullLayout.font.color,
  paper: p._fullLayout.paper_bgcolor, shapes: (p._fullLayout.shapes || []).map((s) => s.line.color)}))"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_presentation_view_from_a_shared_url_and_in_both_themes(server, browser, scheme):
    """Issue 17: ?present=1 opens the page with the sidebar collapsed, KPIs and chart text larger and charts
    taller; on a dark theme the charts take the page's text colour (the theory's near-black marks too)."""
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, color_scheme=scheme)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server + "/?present=1&steps=60")
    page.get_by_role("button", name="Start", exact=True).wait_for(timeout=60_000)
    page.wait_for_function("(sel) => document.querySelectorAll(sel).length == 3 && "
                           "[...document.querySelectorAll(sel)].every(p => p._fullLayout)", arg=MAIN_CHARTS,
                           timeout=30_000)
    assert page.get_by_test_id("stSidebar").bounding_box()["width"] < 5  # collapsed
    kpi = float(page.get_by_test_id("stMetricValue").first.evaluate("e => getComputedStyle(e).fontSize")[:-2])
    assert kpi > 40  # 2.3rem at 19px (24.8px in the normal view)
    charts = page.evaluate(_CHART_FACTS, MAIN_CHARTS)
    assert len(charts) == 3 and all(c["font"] == 21 for c in charts)  # 14 x 1.5
    assert sorted(round(c["height"]) for c in charts) == [473, 473, 608]  # 350 and 450 x 1.35
    if scheme == "dark":
        ink = charts[0]["ink"]
        assert ink.startswith("rgb(") and min(int(v) for v in ink[4:-1].split(",")) > 200  # light text
        assert all(c["paper"] == "rgba(0,0,0,0)" for c in charts)
        assert ink in charts[1]["shapes"] and "#333333" not in charts[1]["shapes"]  # SGD t0 marks, readable
    else:
        assert all(c["paper"] == "white" and c["ink"] == "#2a3f5f" for c in charts)
    if scheme == "dark":  # one run is enough (the README's screenshots: docs/screenshots/presentation-*.png)
        page.get_by_role("button", name="Start", exact=True).click()
        page.get_by_text("Finished 60 steps.").wait_for(timeout=60_000)
        assert "present=1" in page.url  # a run keeps the view in the link
        page.wait_for_timeout(1500)
        page.mouse.move(5, 1000)
    page.screenshot(path=str(SHOTS / f"presentation-{scheme}.png"))

    page.get_by_test_id("stExpandSidebarButton").click()
    page.get_by_text("Presentation view").click()
    page.get_by_test_id("stMetricValue").first.wait_for()
    page.wait_for_function("(sel) => [...document.querySelectorAll(sel)].every(p => p._fullLayout.font.size == 14)",
                           arg=MAIN_CHARTS, timeout=30_000)
    assert "present" not in page.url and "steps=60" in page.url
    assert not errors
    context.close()


def test_predict_then_reveal_from_a_shared_link(server, browser):
    """Issue 17: ?predict=1 asks before Start (Start and Step wait), locks the answers, and after the run shows
    each answer beside the theory's and the run's; the sidebar's link opens the same mode and configuration."""
    page, errors = open_page(browser, server + "/?predict=1&seed=3")
    start = page.get_by_role("button", name="Start", exact=True)
    assert start.is_disabled() and page.get_by_role("button", name="Step", exact=True).is_disabled()
    link = page.get_by_test_id("stSidebar").get_by_test_id("stCode").inner_text()
    assert link.startswith(server + "/?") and "predict=1" in link and "seed=3" in link and "run=" not in link
    page.get_by_text("its most frequent ones").click()
    page.get_by_text("rise", exact=True).click()
    lock = page.get_by_role("button", name="Lock the predictions")
    assert lock.is_disabled()  # one question still open
    page.get_by_text("after t0", exact=True).click()
    expect(lock).to_be_enabled()
    lock.click()
    expect(page.get_by_text("Your predictions are locked.")).to_be_visible()
    expect(start).to_be_enabled()
    start.click()
    expect(page.get_by_text("The reveal, at step 100:")).to_be_visible(timeout=90_000)
    expect(page.get_by_text("2 of 3 predictions match what the run did.")).to_be_visible()
    expect(page.get_by_text("Predicted: rise · theory: fall · this run: fall")).to_be_visible()
    expect(page.get_by_text("Predicted: after t0 · theory: after t0 · this run: after t0")).to_be_visible()
    assert not errors

    pupil, pupil_errors = open_page(browser, link)  # a pupil's fresh session: same settings, asked anew
    assert pupil.get_by_role("button", name="Start", exact=True).is_disabled()
    expect(pupil.get_by_text("Predict, then reveal.")).to_be_visible()
    pupil.get_by_text("Training", exact=True).click()
    expect(pupil.get_by_role("spinbutton", name="Seed")).to_have_value("3")
    assert not pupil_errors
