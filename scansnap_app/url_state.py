"""URL state, one mechanism for every page: a page's settings live in its URL, so a pasted link
restores them.

On a session's first visit of a page, :func:`restore` hands the query parameters to the page's
``read`` function, which validates each one and returns the widget values to start from plus a notice
(field, value, allowed range) for every parameter it ignored; :func:`show_notices` shows those once.
After its widgets, the page calls :func:`write` with its settings in text form (only those that differ
from its defaults), so the URL follows every change.  Streamlit's ``bind="query-params"`` was not
used: it drops invalid values without a word.

While a page has a run, its URL also carries ``run=<this server process's id>``.  A server restart
loses every run; when the tab reconnects to the new server, the page finds an id that is not its
server's and says that its run was lost (the settings in the URL come back as usual).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Callable

import streamlit as st

from .plain import plain

Reader = Callable[[dict[str, str]], tuple[dict[str, Any], list[str]]]

#: passed to every settings widget: Streamlit keeps its value for the whole session, also while another page is
#: shown (by default a value is dropped when a run does not draw its widget, and a page found its settings gone, or
#: raised KeyError reading them, when the user came back)
KEEP = {"persist_state": "session"}
#: the URL parameter that marks a page with a run, and this server process's value for it
RUN_MARK = "run"
SERVER_ID = uuid.uuid4().hex[:8]
LOST_RUN = ("The server restarted since this page started its run, so that run and its results were lost. "
            "The settings are restored from the URL: press Start to train it again.")


def restore(page: str, read: Reader) -> None:
    """Fill ``page``'s widgets from the URL once per session (later reruns keep what the user set)."""
    ss = st.session_state
    if ss.get(_restored(page)):
        return
    params = {k: st.query_params.get(k) for k in st.query_params}
    mark = params.pop(RUN_MARK, None)
    for flag in FLAGS:  # the session's own, read by UrlFlag.restore
        params.pop(flag.param, None)
    values, notices = read(params)
    if mark is not None and mark != SERVER_ID:
        notices.insert(0, LOST_RUN)
    ss.update(values)
    ss[_notices(page)] = notices
    ss[_restored(page)] = True


def show_notices(page: str) -> None:
    """Once: a warning per URL parameter that ``restore`` ignored."""
    for notice in st.session_state.pop(_notices(page), []):
        if notice == LOST_RUN:
            st.warning(notice, icon=":material/cloud_off:")
        else:
            st.warning(f"Ignored a URL value: {plain(notice)}")


def write(params: dict[str, str], has_run: bool = False) -> None:
    """Make the URL hold exactly ``params``, plus the run mark while the page ``has_run`` and the parameter of
    every page-wide :class:`UrlFlag` that is on (untouched when it already does)."""
    params = {**params, **{k: v for flag in FLAGS if flag.everywhere for k, v in flag.url_params().items()}}
    params = {**params, RUN_MARK: SERVER_ID} if has_run else params
    if dict(st.query_params) != params:
        st.query_params.from_dict(params)


def _restored(page: str) -> str:
    return f"_url_restored_{page}"


def _notices(page: str) -> str:
    return f"_url_notices_{page}"


@dataclass(frozen=True)
class UrlFlag:
    """A session's on/off mode that a link can switch on (``?param=1``): read from the URL on the session's
    first run, then kept by its toggle.  ``everywhere``: every page's URL carries it while on (else the page
    that offers the toggle adds :meth:`url_params` to its own)."""

    param: str
    key: str
    everywhere: bool = True

    def __post_init__(self):
        FLAGS.append(self)

    def restore(self) -> None:
        ss = st.session_state
        if not ss.get(f"_{self.key}_restored"):
            ss[self.key] = st.query_params.get(self.param, "") in ("1", "true", "on", "yes")
            ss[f"_{self.key}_restored"] = True

    def active(self) -> bool:
        return bool(st.session_state.get(self.key))

    def url_params(self) -> dict[str, str]:
        return {self.param: "1"} if self.active() else {}

    def toggle(self, container, label: str, help: str) -> bool:
        """The toggle; its widget key is not the mode's (a collapsed sidebar does not report its widgets)."""
        container.toggle(label, value=self.active(), key=f"_{self.key}_toggle", on_change=self._toggled, help=help)
        return self.active()

    def _toggled(self) -> None:
        st.session_state[self.key] = st.session_state[f"_{self.key}_toggle"]


#: every flag, so that pages' readers never see their parameters
FLAGS: list[UrlFlag] = []
