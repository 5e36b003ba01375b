"""User text is shown as text (scansnap_app.plain): a URL value, an uploaded file's content or a typed
rate list that looks like Markdown is echoed literally, nothing in it fetched, linked or styled."""

import urllib.parse

from hypothesis import given, strategies as st
from playwright.sync_api import expect

from browser_helpers import needs_chromium, open_page
from scansnap_app.plain import plain

PAYLOAD = ("![t](http://127.0.0.1:9/pixel.gif)[Re-authenticate here](http://127.0.0.1:9/phish) **x** :red[y] $z$ "
           "`q` :material/home: <b>h</b> www.example.org")


@given(st.text(max_size=60))
def test_plain_is_one_code_span_holding_the_text(text):
    """CommonMark: a code span opens and closes with equal backtick runs longer than any inside; one
    space is stripped from each side when both are spaces or the content starts/ends with a backtick."""
    shown = plain(text)
    body = text.replace("\r", " ").replace("\n", " ")
    if not body:
        assert shown == ""
        return
    fence = len(shown) - len(shown.lstrip("`"))
    assert shown.endswith("`" * fence) and "`" * fence not in shown[fence:-fence]
    inner = shown[fence:-fence]
    if inner.startswith(" ") and inner.endswith(" ") and inner.strip(" "):
        inner = inner[1:-1]
    assert inner.replace(":\u2060material/", ":material/") == body


def _notice_is_literal(page, where) -> None:
    notice = where.filter(has_text="Re-authenticate here")
    expect(notice.first).to_be_visible(timeout=60_000)
    assert PAYLOAD in notice.first.inner_text().replace("\u2060", "")  # as typed (see scansnap_app.plain)
    assert notice.first.locator("img, a, strong, em, b, .katex, [data-testid=stIconMaterial]").count() == 0


@needs_chromium
def test_markdown_in_a_url_value_or_a_rate_list_is_shown_as_text(server, browser):
    fetched: list[str] = []
    page, errors = open_page(browser, server + "/?optimizer=" + urllib.parse.quote(PAYLOAD))
    page.on("request", lambda r: fetched.append(r.url) if ":9/" in r.url else None)
    _notice_is_literal(page, page.get_by_test_id("stAlert"))

    theory = page.context.new_page()
    theory.on("request", lambda r: fetched.append(r.url) if ":9/" in r.url else None)
    theory.goto(server + "/theory?th_rates=" + urllib.parse.quote(PAYLOAD) + "&th_K=1e309")
    _notice_is_literal(theory, theory.get_by_test_id("stAlert"))
    expect(theory.get_by_text("K (classes) = '1e309' is invalid")).to_be_visible()  # no OverflowError traceback
    assert theory.get_by_test_id("stException").count() == 0
    rates = theory.get_by_role("textbox", name="Rates to compare (comma-separated)")
    rates.fill(PAYLOAD)
    rates.press("Enter")
    expect(theory.get_by_test_id("stAlert").filter(has_text="Rates to compare =")).to_be_visible(timeout=30_000)
    _notice_is_literal(theory, theory.get_by_test_id("stAlert").filter(has_text="Rates to compare ="))
    assert fetched == [] and not errors
