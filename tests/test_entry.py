"""Pages always run through app.py (scansnap_app/entry.py): the private Streamlit flag the
workaround flips, and a server's very first visitor opening a page's own URL."""

from browser_helpers import needs_chromium
from conftest import streamlit_server


def test_the_streamlit_flag_the_workaround_flips_still_exists():
    """A Streamlit upgrade that renames it fails here, not silently in the app."""
    from streamlit.runtime.pages_manager import PagesManager

    assert isinstance(PagesManager.uses_pages_directory, (bool, type(None)))


@needs_chromium
def test_a_first_visit_to_a_page_url_gets_the_apps_menu(browser, tmp_path):
    """Without the workaround a fresh server's first visitor at /sweep got the page without app.py's
    set-up: no menu of the four pages.  The server runs under a vocabulary cap that refuses one of the
    launcher's warm-up runs (scansnap_app/serve.py): it still starts, and says what it skipped."""
    from playwright.sync_api import expect

    log = tmp_path / "streamlit.log"
    with streamlit_server(log, SCANSNAP_MAX_VOCAB="500") as url:
        assert "warm-up run skipped (ConfigError: vocab_size = 1002 is invalid" in log.read_text()
        page = browser.new_page()
        try:
            page.goto(url + "/sweep")
            expect(page.get_by_role("heading", name="Learning-rate sweep (Fig. 6)")).to_be_visible(timeout=60_000)
            nav = page.get_by_test_id("stSidebarNav")
            for title in ("Live Lab", "Theory explorer", "Learning-rate sweep", "Compare A/B"):
                expect(nav.get_by_text(title, exact=True)).to_be_visible()
        finally:
            page.close()
