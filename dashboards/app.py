"""Streamlit entry point: ``streamlit run dashboards/app.py``. Pages are registered here.

Nothing but the login page exists until a user has signed in: pages left out of
``st.navigation`` cannot be opened by URL either. The year selector lives here, in the entry
script, so the choice carries across pages.

The page scripts live in ``views/``, not ``pages/``: with a ``pages/`` folder beside this file,
Streamlit 1.67 falls back to its old folder-based multipage mode until some session has run
``st.navigation``, and in that mode a request for ``/project`` runs the page script directly,
without this file and so without the login.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from access import login_page, sidebar_account, signed_in_user
from common import CJK_FONT_CSS, warehouse_path, years

st.set_page_config(page_title="民生实事监督", page_icon="🏛️", layout="wide")
st.html(f"<style>{CJK_FONT_CSS}</style>")

PAGE_PATHS = ("overview", "project", "opinion", "letters", "quality")

user = signed_in_user()
if user is None:
    # Every page address leads to the login form (not to "page not found"), and after signing
    # in the same address opens the page that was asked for.
    login = [
        st.Page(login_page, title="登录", icon=":material/login:", url_path="login", default=True)
    ]
    login += [st.Page(login_page, title="登录", url_path=path) for path in PAGE_PATHS]
    st.navigation(login, position="hidden").run()
    st.stop()
assert user is not None

pages = [
    st.Page(
        "views/overview.py",
        title="总览",
        icon=":material/dashboard:",
        default=True,
        url_path="overview",
    ),
    st.Page("views/project.py", title="项目详情", icon=":material/assignment:", url_path="project"),
    st.Page("views/opinion.py", title="民情", icon=":material/forum:", url_path="opinion"),
    st.Page("views/letters.py", title="函件", icon=":material/mail:", url_path="letters"),
    st.Page("views/quality.py", title="数据质量", icon=":material/fact_check:", url_path="quality"),
]
navigation = st.navigation(pages)

sidebar_account(user)
warehouse = warehouse_path()
if Path(warehouse).exists():
    available = years(warehouse)
    if available:
        if st.session_state.get("year") not in available:
            st.session_state["year"] = available[0]  # newest first
        st.sidebar.selectbox("年度", available, key="year")
navigation.run()
