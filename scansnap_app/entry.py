"""Every page runs through app.py's ``st.navigation``.

A ``pages/`` folder next to the main script puts Streamlit in its older multipage mode until
the first ``st.navigation`` call; if a server's very first visitor opens a page's own URL
(``/sweep``), Streamlit runs that page file directly, without app.py's page setup and menu.
Each page calls :func:`through_app` first to hand such a run back to app.py.  It flips the flag
``st.navigation`` itself sets (Streamlit 1.67 has no public option for this); ``tests/test_entry.py``
checks that the flag still exists and that a first visit to a page's URL shows the app's menu.
"""

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager


def through_app() -> None:
    if getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False  # what st.navigation sets; app.py will call it
        st.rerun()
