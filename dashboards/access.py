"""Signing in: a user/password form against the users file, or OIDC (``st.login``) when the
deployment configures an ``[auth]`` section in Streamlit secrets.

OIDC users are viewers unless listed in ``[livelihood_monitor] editors = ["a@example.cn"]`` of
the secrets file; password users carry their role in the users file.
"""

from __future__ import annotations

import time
from typing import Any

import streamlit as st
from common import current_user, settings, sign_in

from livelihood_monitor import users
from livelihood_monitor.users import User

_FAILURE_DELAY_S = 1.0  # on top of scrypt: slows guessing in one session a little more


def _secrets() -> dict[str, Any]:
    try:
        return {k: st.secrets[k] for k in st.secrets}
    except FileNotFoundError:  # no secrets file at all: the ordinary case
        return {}


def oidc_configured() -> bool:
    return "auth" in _secrets()


def oidc_user() -> User | None:
    """The OIDC user, when one is signed in through ``st.login``."""
    if not oidc_configured() or not st.user.get("is_logged_in"):
        return None
    name = str(st.user.get("email") or st.user.get("name") or "oidc")
    section = _secrets().get("livelihood_monitor", {})
    editors = section.get("editors", []) if hasattr(section, "get") else []
    return User(name, "editor" if name in editors else "viewer")


def signed_in_user() -> User | None:
    return current_user() or oidc_user()


def login_page() -> None:
    _, middle, _ = st.columns([1, 2, 1])  # a narrow form in the wide layout
    with middle:
        _login_form()


def _login_form() -> None:
    st.title("民生实事监督")
    st.caption("人大常委会民生实事项目监督平台 · 请登录后查看")
    if oidc_configured():
        st.button("使用统一身份认证登录", type="primary", on_click=st.login)
        return
    users_file = settings().resolved_users_file
    try:
        known = users.load_users(users_file)
    except users.UserError as exc:
        st.error(str(exc))
        return
    if not known:
        st.info(
            "还没有任何账号。请在项目目录运行 `livelihood-monitor users ensure-demo` "
            "（创建演示编辑账号并显示密码），或 "
            "`livelihood-monitor users add 用户名 --role editor` 新建账号。"
        )
    with st.form("login", border=True):
        name = st.text_input("用户名")
        password = st.text_input("密码", type="password")
        submitted = st.form_submit_button("登录", type="primary")
    if submitted:
        user = users.verify(users_file, name, password) if name and password else None
        if user is None:
            time.sleep(_FAILURE_DELAY_S)
            st.error("用户名或密码不正确。")
            return
        sign_in(user)
        st.rerun()


def sidebar_account(user: User) -> None:
    """Who is signed in, and the 退出 button."""
    with st.sidebar:
        st.markdown(f"**{user.name}**（{user.role_label}）")
        if st.button("退出", key="logout"):
            if current_user() is not None:
                del st.session_state["user"]
                st.rerun()
            else:
                st.logout()
