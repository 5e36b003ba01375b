"""AppTest helpers the study pages' tests share: open a page with URL parameters, find a run-control button by
its key prefix, read the KPIs."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

PAGES = Path(__file__).resolve().parent.parent / "pages"


def open_app_page(name: str, query: dict | None = None) -> AppTest:
    """pages/<name>.py after its first run, with ``query`` as its URL parameters."""
    at = AppTest.from_file(str(PAGES / f"{name}.py"), default_timeout=120)
    if query:
        at.query_params.update(query)
    return at.run()


def run_button(at: AppTest, prefix: str, name: str):
    """The run-control button ``name`` ("start", "step" or "reset") of the controls with key ``prefix`` (the keys
    carry a generation)."""
    (button,) = [b for b in at.button if (b.key or "").startswith(f"{prefix}{name}-")]
    return button


def metrics(at: AppTest) -> dict[str, str]:
    """The KPIs shown: {label: value}."""
    return {m.label: m.value for m in at.metric}
