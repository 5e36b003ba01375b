"""Theory explorer: figure builders against scansnap_core.scan_snap.theory and docs/THEORY.md §6 reference values, the
page in AppTest (presets, validation, overlay message), and one real-browser test."""

import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from browser_helpers import needs_chromium, pick_preset, shot
from scansnap_app import sessions
from scansnap_app.plain import plain
from scansnap_core.lab import figure_style
from scansnap_core.scan_snap import figures, theory

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "theory.py")
FIG3 = dict(K=10, M=1000, eta_z=0.5, eta_ys=(0.5, 1.0, 2.0, 5.0))


@pytest.fixture(autouse=True)
def validate_figures(monkeypatch):
    monkeypatch.setattr(figure_style, "VALIDATE", True)


def trace(fig, name_start: str):
    (tr,) = [tr for tr in fig.data if tr.name.startswith(name_start)]
    return np.asarray(tr.x, dtype=float), np.asarray(tr.y, dtype=float)


def vlines(fig, xref: str = "x") -> list[float]:
    return [s.x0 for s in fig.layout.shapes if s.type == "line" and s.xref == xref]


# --------------------------------------------------------------------------- figures
@pytest.mark.parametrize("log_axis", [False, True])
def test_B_traces_equal_theory_and_branches_stay_on_their_ranges(log_axis):
    K, M, ey, ez, C0 = 10, 1000, 1.0, 0.5, 2.0
    t = figures.theory_time_grid(700, log_axis)
    fig = figures.theory_B(K, M, ey, ez, C0, t, log_axis)
    tp, ts = theory.t0_prime(K, M, ey), theory.t0(K, M, ey)
    for name, fn in (("Eqn 129, exact", theory.B_exact), ("Eqn 129, paper", theory.B_paper),
                     ("Eqn 14, scanning", theory.B_early), ("Eqn 14, snapping", theory.B_late)):
        x, y = trace(fig, name)
        assert len(x) > 20
        np.testing.assert_allclose(y, fn(x, K, M, ey, ez, C0), rtol=1e-5)
    np.testing.assert_allclose(trace(fig, "Eqn 129, exact")[1][-1], theory.B_exact(700, K, M, ey, ez, C0), rtol=1e-6)
    early_x, _ = trace(fig, "Eqn 14, scanning")
    late_x, _ = trace(fig, "Eqn 14, snapping")
    assert early_x.max() < tp and late_x.min() >= np.float32(ts) and late_x[0] == np.float32(ts)
    # the paper form is the exact one shifted by ¼ ln C0 (§9 item 2)
    np.testing.assert_allclose(trace(fig, "Eqn 129, paper")[1] - trace(fig, "Eqn 129, exact")[1], 0.25 * np.log(C0),
                               atol=1e-5)
    assert vlines(fig) == pytest.approx([tp, ts])
    assert [a.text for a in fig.layout.annotations] == ["t0′", "t0"]
    if log_axis:
        assert fig.layout.xaxis.type == "log" and t[0] > 0
        assert fig.layout.annotations[1].x == pytest.approx(np.log10(ts))  # annotations take log10 on log axes
    else:
        assert fig.layout.xaxis.type == "linear" and t[0] == 0
        assert fig.layout.annotations[1].x == pytest.approx(ts)


def test_h_gamma_and_growth_traces_equal_theory():
    K, M, ey, ez, C0, f0 = 10, 1000, 2.0, 0.5, 1.0, 0.3
    t = figures.theory_time_grid(300)
    fig = figures.theory_h_gamma(K, M, ey, t)
    np.testing.assert_allclose(trace(fig, "h(t/K)")[1], theory.h(t / K, M, ey), rtol=1e-5)
    np.testing.assert_allclose(trace(fig, "γ(t)")[1], theory.gamma(t, K, M, ey), rtol=1e-5, atol=1e-7)
    assert vlines(fig, "x") == vlines(fig, "x2") == pytest.approx([theory.t0_prime(K, M, ey), theory.t0(K, M, ey)])

    measured = (np.arange(5), np.linspace(1, 3, 5), "measured χ")
    fig = figures.theory_growth(K, M, ey, ez, C0, f0, t, measured=measured)
    B = theory.B_exact(t, K, M, ey, ez, C0)
    np.testing.assert_allclose(trace(fig, "χ upper")[1], np.exp(2 * B), rtol=1e-5)
    np.testing.assert_allclose(trace(fig, "χ lower")[1], np.exp(2 * f0 * B), rtol=1e-5)
    np.testing.assert_allclose(trace(fig, "common-token logit")[1], theory.common_logit(t, K, M, ey, ez, C0),
                               rtol=1e-5, atol=1e-7)
    assert trace(fig, "common-token logit")[1][-1] < 0  # the common token's logit falls (Theorem 2(b))
    np.testing.assert_allclose(trace(fig, "measured")[1], measured[1])
    assert fig.layout.yaxis.type == "log"


def test_fig3_view_matches_the_reference_values():
    t = figures.theory_time_grid(700)
    fig = figures.theory_eta_y_sweep(FIG3["K"], FIG3["M"], FIG3["eta_z"], FIG3["eta_ys"], 1.0, t)
    assert vlines(fig) == pytest.approx([364.7, 182.3, 91.2, 36.5], abs=0.05)  # docs/THEORY.md §6 Figure 3
    final_chi = [trace(fig, f"η_Y = {e:g}")[1][-1] for e in FIG3["eta_ys"]]
    assert final_chi == pytest.approx([45.2, 34.7, 26.3, 18.0], abs=0.05)
    # the dotted t0 of each η_Y has that curve's colour
    colours = [tr.line.color for tr in fig.data]
    assert [s.line.color for s in fig.layout.shapes] == colours and all(s.line.dash == "dot" for s in fig.layout.shapes)
    B_fig = figures.theory_eta_y_sweep(FIG3["K"], FIG3["M"], FIG3["eta_z"], FIG3["eta_ys"], 1.0, t, quantity="B")
    assert [trace(B_fig, f"η_Y = {e:g}")[1][-1] for e in FIG3["eta_ys"]] == pytest.approx(
        [1.906, 1.774, 1.635, 1.446], abs=1e-3)  # §6 gives 1.446; the formula gives 1.4455


@pytest.mark.parametrize("nu, M, t_max, expected", [(10, 100, 5, 0.78), (1, 10_000, 50, 1.53)])
def test_fig9_view_matches_the_reference_values(nu, M, t_max, expected):
    eta_zs = (1.0, 2.0, 4.0, 8.0)
    fig = figures.theory_eta_z_sweep(1, M, nu, eta_zs, 1.0, figures.theory_time_grid(t_max))
    x, y = trace(fig, f"η_Z = {max(eta_zs):g}")
    assert x[-1] == t_max and y[-1] == pytest.approx(expected, abs=0.01)
    dots = [tr for tr in fig.data if tr.mode == "markers"]
    assert len(dots) == len(eta_zs)  # every t0 lies inside t ≤ t_max
    for dot, eta_z in zip(dots, eta_zs):
        assert dot.x[0] == pytest.approx(theory.t0(1, M, nu * eta_z), rel=1e-6)
    heights = [float(dot.y[0]) for dot in dots]
    assert max(heights) - min(heights) < 1e-5  # B_n(t0) depends only on K, M, ν (§6)


# --------------------------------------------------------------------------- page (AppTest)
def page(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    if query:
        at.query_params.update(query)
    return at.run()


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label.split(" ")[0]: m.value for m in at.metric}


def test_presets_fill_the_inputs_and_the_metrics():
    at = page()
    assert not at.exception and not at.error
    assert at.session_state["th_preset"] == "fig3"
    assert (at.number_input(key="th_K").value, at.number_input(key="th_M").value) == (10, 1000)
    assert metrics(at) == {"t0′": "69.08", "t0": "182.3", "2K": "138.2", "B_n(t0)": "1.6806"}
    at.selectbox(key="th_preset").set_value("fig9-left").run()
    assert not at.exception and not at.error
    values = {k: at.session_state[k] for k in ("th_K", "th_M", "th_eta_y", "th_eta_z", "th_C0", "th_t_max")}
    assert values == dict(th_K=1, th_M=100, th_eta_y=10.0, th_eta_z=1.0, th_C0=1.0, th_t_max=5.0)
    assert at.session_state["th_vary"] == "eta_z"
    assert metrics(at)["t0′"] == f"{theory.t0_prime(1, 100, 10.0):,.4g}" == "0.4605"
    at.selectbox(key="th_preset").set_value("fig9-right").run()
    assert at.session_state["th_M"] == 10_000 and at.session_state["th_t_max"] == 50.0
    assert metrics(at)["t0"] == f"{theory.t0(1, 10_000, 1.0):,.4g}"
    at.number_input(key="th_K").set_value(3).run()  # editing an input leaves the preset
    assert at.session_state["th_preset"] == "custom" and not at.error


def test_a_url_restores_the_preset_and_values():
    at = page({"th_preset": "Fig. 9 right", "th_eta_y": "2"})
    assert not at.exception and not at.error
    assert at.session_state["th_preset"] == "fig9-right"
    assert at.session_state["th_M"] == 10_000 and at.session_state["th_eta_y"] == 2.0
    assert metrics(at)["t0′"] == f"{theory.t0_prime(1, 10_000, 2.0):,.4g}"


#: the page's settings besides the preset (pages/theory.py DEFAULTS)
SETTINGS = ("th_K", "th_M", "th_eta_y", "th_eta_z", "th_C0", "th_t_max", "th_log", "th_vary", "th_rates", "th_quantity",
            "th_f0", "th_overlay")


def test_a_bad_url_value_is_named_and_the_rest_restored():
    """The Live Lab's URL mechanism (scansnap_app.url_state): a value that does not fit is ignored with a
    notice naming field, value and range (Streamlit's bind="query-params" dropped it without a word)."""
    at = page({"th_preset": "fig9-left", "th_K": "0", "th_eta_z": "2", "th_vary": "sideways", "bogus": "1"})
    assert not at.exception and not at.error
    assert [w.value for w in at.warning] == ["Ignored a URL value: " + plain(notice) for notice in (
        "K (classes) = '0' is invalid: allowed an integer, 1 ≤ K ≤ 1,000,000. — using 1 instead",
        "th_vary = 'sideways' is invalid: allowed one of eta_y, eta_z — using 'eta_z' instead",
        "bogus is not a setting of this page (allowed: th_preset, " + ", ".join(SETTINGS) + ")")]
    assert (at.session_state["th_K"], at.session_state["th_eta_z"], at.session_state["th_vary"]) == (1, 2.0, "eta_z")
    assert not at.run().warning  # shown once


def test_the_url_holds_the_preset_and_what_differs_from_it():
    at = page({"th_preset": "fig9-right"})
    assert dict(at.query_params) == {"th_preset": "fig9-right"}
    at.number_input(key="th_eta_y").set_value(2.0).run()  # leaves the preset: the URL lists what differs from defaults
    query = dict(at.query_params)
    assert query["th_preset"] == "custom" and query["th_eta_y"] == "2.0" and query["th_M"] == "10000"
    restored = page(query)
    assert {k: restored.session_state[k] for k in SETTINGS} == {k: at.session_state[k] for k in SETTINGS}


@pytest.mark.parametrize("key, value, message", [
    ("th_M", 1, "M (vocabulary size) = 1 is invalid: allowed an integer, 2 ≤ M ≤ 10⁹."),
    ("th_eta_y", 0.0, "η_Y = 0.0 is invalid: allowed 0 < η_Y ≤ 10,000."),
    ("th_eta_z", -1.0, "η_Z = -1.0 is invalid: allowed 0 < η_Z ≤ 10,000."),
    ("th_K", 0, "K (classes) = 0 is invalid: allowed an integer, 1 ≤ K ≤ 1,000,000."),
    ("th_f0", 1.5, "f²(0) = 1.5 is invalid: allowed 0 < f²(0) ≤ 1."),
])
def test_invalid_input_names_field_value_and_range_without_exception(key, value, message):
    at = page()
    at.number_input(key=key).set_value(value).run()
    assert not at.exception
    assert [e.value for e in at.error] == [plain(message)]  # shown as text (scansnap_app.plain)
    assert not at.metric  # no curves for invalid numbers


def test_invalid_rate_list_is_reported():
    at = page()
    at.text_input(key="th_rates").set_value("1, two").run()
    assert not at.exception
    (error,) = at.error
    assert error.value.startswith("`Rates to compare = '1, two' is invalid")


def test_overlay_says_when_there_is_no_run(monkeypatch):
    monkeypatch.setattr(sessions, "REGISTRY", sessions.Registry())
    at = page()
    at.checkbox(key="th_overlay").check().run()
    assert not at.exception
    assert any("No Live Lab run in this browser session" in i.value for i in at.info)


# --------------------------------------------------------------------------- browser
@needs_chromium
def test_theory_page_in_a_browser_presets_charts_and_svg_download(server, browser, tmp_path):
    from playwright.sync_api import expect

    page_ = browser.new_context(viewport={"width": 1500, "height": 1400}, accept_downloads=True).new_page()
    errors: list[str] = []
    page_.on("pageerror", lambda e: errors.append(str(e)))
    page_.goto(server + "/theory")  # straight to the page's URL: it still runs through app.py's navigation
    expect(page_.get_by_text("Theory explorer", exact=True).first).to_be_visible(timeout=60_000)
    charts = page_.locator(".scansnap-live-chart")
    expect(charts).to_have_count(4, timeout=60_000)
    page_.wait_for_timeout(800)
    pick_preset(page_, "Fig. 9 right")
    expect(page_.get_by_test_id("stMetricValue").nth(1)).to_have_text(f"{theory.t0(1, 10_000, 1.0):,.4g}",
                                                                       timeout=30_000)
    expect(page_).to_have_url(re.compile(r"[?&]th_preset=fig9-right(&|$)"), timeout=10_000)
    expect(page_.get_by_test_id("stSidebarNav").get_by_text("Theory explorer")).to_be_visible()
    pick_preset(page_, "Fig. 3 setting")
    expect(page_.get_by_test_id("stMetricValue").nth(1)).to_have_text("182.3", timeout=30_000)
    page_.wait_for_timeout(1500)  # let the charts redraw with the preset's values
    shot(page_, "theory")
    compare = charts.nth(3)
    page_.wait_for_function("el => el.layout && el.layout.title.text.startsWith('Fig. 3 view')",
                            arg=compare.element_handle(), timeout=30_000)
    compare.scroll_into_view_if_needed()
    compare.hover()
    with page_.expect_download() as info:
        compare.locator('.modebar-btn[data-title="Download SVG · 1600×900 (vector)"]').click()
    assert info.value.suggested_filename == "scansnap-theory-compare.svg"
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    svg = path.read_text()
    assert svg.lstrip().startswith("<svg") and "Fig. 3 view" in svg and "η_Y = 0.5" in svg
    assert not errors


@pytest.mark.parametrize("query", [{"th_K": "inf"}, {"th_K": "1e309"}, {"th_K": "-inf"}, {"th_M": "1e400"},
                                   {"th_eta_y": "nan"}])
def test_an_infinite_url_value_is_a_notice_not_a_traceback(query):
    """/theory?th_K=inf used to raise OverflowError on the page (Streamlit's bound widgets took it)."""
    at = page(query)
    assert not at.exception and not at.error
    ((key, text),) = query.items()
    (warning,) = at.warning
    assert f"= '{text}' is invalid: allowed" in warning.value and at.metric  # the curves of the preset's values


def test_the_log_axis_is_a_view_option_and_fig3_says_its_curves_are_qualitative():
    """Toggling 'Log t axis' switched the preset to Custom; the Fig. 3 caveat was only in the README."""
    at = page()
    at.toggle(key="th_log").set_value(True).run()
    assert at.session_state["th_preset"] == "fig3" and not at.error
    (caveat,) = [c.value for c in at.caption if "Fig. 3 shows χ reaching about 600" in c.value]
    assert "reach 45 at t = 700" in caveat and "qualitative" in caveat


def test_using_the_live_labs_run_takes_clean_rates_says_they_are_momentum_corrected_and_follows_its_length(
        monkeypatch):
    """'Use the run's …' filled η_Y = 10.000000000000002 without saying it was η/(1 − μ), and kept t max = 700, so
    the overlaid run was squashed into the left edge."""
    from scansnap_core.scan_snap.engine import live_runner
    from scansnap_core.scan_snap.presets import preset

    registry = sessions.Registry()
    monkeypatch.setattr(sessions, "REGISTRY", registry)
    lab = registry.lab("me", lambda: live_runner(preset("syn-small", steps=40)))
    lab.runner.start()
    lab.runner.wait(60)
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["session_id"] = "me"
    at.run()
    at.checkbox(key="th_overlay").check().run()
    assert any("η_Y = 1/(1 − 0.9) = 10" in c.value for c in at.caption)  # said where the rates come from
    at.button(key="th_use_run").click().run()
    ss = at.session_state
    assert (ss["th_K"], ss["th_M"], ss["th_eta_y"], ss["th_eta_z"], ss["th_t_max"]) == (2, 34, 10.0, 10.0, 40.0)
    assert not at.warning and any("Overlaid: the Live Lab run's measured χ" in c.value for c in at.caption)
    lab.runner.stop()
