"""The home page (AppTest, no browser): it runs the core and reports theory beside experiment."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def test_home_page_trains_a_preset_and_reports_the_snapping_step():
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    at.number_input[0].set_value(30)  # steps
    at.button[0].click().run()
    assert not at.exception
    text = at.success[0].value
    assert "30 steps" in text and "Measured snapping step" in text and "t0′" in text


def test_home_page_rejects_bad_values_with_a_message():
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.number_input[2].set_value(0.0)  # η_Z = 0 is allowed (no attention learning)
    at.run()
    assert not at.exception and not at.error
