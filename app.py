"""Scan & Snap Lab: the Streamlit entry point (`streamlit run app.py`).

It only sets up the page and the navigation (and a fix for closed tabs, scansnap_app/websocket_fix.py);
each page lives in ``pages/``.
"""

import streamlit as st

from scansnap_app import export_settings, predict_reveal, presentation, style, websocket_fix

websocket_fix.install()
for flag in (presentation.MODE, predict_reveal.MODE):  # modes a link can switch on (url_state.UrlFlag)
    flag.restore()
st.set_page_config(page_title="Scan & Snap Lab", page_icon="🔭", layout="wide",
                   initial_sidebar_state=presentation.sidebar_state())
style.apply()
presentation.controls()
st.navigation([
    st.Page("pages/live_lab.py", title="Live Lab", icon=":material/play_circle:", default=True),
    st.Page("pages/theory.py", title="Theory explorer", icon=":material/functions:"),
    st.Page("pages/sweep.py", title="Learning-rate sweep", icon=":material/grid_on:"),
    st.Page("pages/compare.py", title="Compare A/B", icon=":material/compare_arrows:"),
    st.Page("pages/induction.py", title="Induction heads", icon=":material/account_tree:"),
    st.Page("pages/joma.py", title="JoMA", icon=":material/hub:"),
    st.Page("pages/real_text.py", title="Real text", icon=":material/menu_book:"),
]).run()
export_settings.controls()  # at the foot of every page's sidebar
