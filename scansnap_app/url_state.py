"""URL state, one mechanism for every page: a page's settings live in its URL, so a pasted link
restores them.

On a session's first visit of a page, :func:`restore` hands the query parameters to the page's
``read`` function, which validates each one and returns the widget values to start from plus a notice
(field, value, allowed range) for every parameter it ignored; :func:`show_notices` shows those once.
After its widgets, the page calls :func:`write` with its settings in text form (only those that differ
from its defaults), so the URL follows every change.  Streamlit's ``bind="query-params"`` was not
used: it drops invalid values without a word.
"""

from __future__ import annotations

from typing import Any, Callable

import streamlit as st

from .plain import plain

Reader = Callable[[dict[str, str]], tuple[dict[str, Any], list[str]]]


def restore(page: str, read: Reader) -> None:
    """Fill ``page``'s widgets from the URL once per session (later reruns keep what the user set)."""
    ss = st.session_state
    if ss.get(_restored(page)):
        return
    values, notices = read({k: st.query_params.get(k) for k in st.query_params})
    ss.update(values)
    ss[_notices(page)] = notices
    ss[_restored(page)] = True


def show_notices(page: str) -> None:
    """Once: a warning per URL parameter that ``restore`` ignored."""
    for notice in st.session_state.pop(_notices(page), []):
        st.warning(f"Ignored a URL value: {plain(notice)}")


def write(params: dict[str, str]) -> None:
    """Make the URL hold exactly ``params`` (untouched when it already does)."""
    if dict(st.query_params) != params:
        st.query_params.from_dict(params)


def _restored(page: str) -> str:
    return f"_url_restored_{page}"


def _notices(page: str) -> str:
    return f"_url_notices_{page}"
