"""Streamlit entry point: ``streamlit run dashboards/app.py``. Pages are registered here."""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="民生实事监督", page_icon="🏛️", layout="wide")

navigation = st.navigation(
    [
        st.Page("pages/overview.py", title="总览", icon="📊", default=True, url_path="overview"),
    ]
)
navigation.run()
