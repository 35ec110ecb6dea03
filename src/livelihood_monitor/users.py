"""Dashboard accounts: a small TOML file of users with scrypt-hashed passwords.

The file (``Settings.resolved_users_file``, default ``<data_dir>/users.toml``) looks like::

    [users."zhang"]
    role = "editor"
    salt = "9f0c..."            # 16 random bytes, hex
    hash = "a1b2..."            # scrypt(password, salt), hex
    scrypt = [16384, 8, 1]      # n, r, p used for this hash (kept per user so they can change)
    demo_password = "..."       # only for the demo account that ``ensure_demo_user`` creates

Two roles: ``viewer`` reads every page; ``editor`` may also correct the classifier's matches.
Nothing here prints: the CLI and the dashboard say what happened, in Chinese.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Role = Literal["viewer", "editor"]
ROLES: tuple[Role, ...] = ("viewer", "editor")
ROLE_LABELS: dict[Role, str] = {"viewer": "只读", "editor": "编辑"}
DEMO_USER = "demo"

# scrypt cost: ~50 ms and 16 MB per check on a 2-core machine; enough to make guessing slow,
# cheap enough for a login form.
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
_DKLEN = 32
_SALT_BYTES = 16
_MIN_PASSWORD = 8
# Letters, digits, CJK, and . _ - @ (e-mail-like names from an OIDC provider stay usable).
_NAME = re.compile(r"^[\w.@\-\u4e00-\u9fff]{1,64}$")


class UserError(ValueError):
    """A bad name, role or password; the message is Chinese, for the operator."""


@dataclass(frozen=True)
class User:
    name: str
    role: Role

    @property
    def can_edit(self) -> bool:
        return self.role == "editor"

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[self.role]


def _hash(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=_DKLEN, maxmem=64 * 1024 * 1024
    )


def _check_name(name: str) -> str:
    name = name.strip()
    if not _NAME.match(name):
        raise UserError(f"用户名“{name}”不合规范：1–64 个字符，只能包含汉字、字母、数字和 . _ - @")
    return name


def _check_role(role: str) -> Role:
    if role not in ROLES:
        raise UserError(f"角色“{role}”无效：应为 viewer（只读）或 editor（编辑）")
    return role


def load_users(path: Path) -> dict[str, dict[str, Any]]:
    """The ``[users]`` table of the file; empty when the file does not exist."""
    if not path.is_file():
        return {}
    with path.open("rb") as fh:
        try:
            data = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise UserError(f"账号文件 {path} 格式有误：{exc}") from None
    users = data.get("users", {})
    if not isinstance(users, dict):
        raise UserError(f"账号文件 {path} 格式有误：users 应为一个表")
    return {str(k): v for k, v in users.items() if isinstance(v, dict)}


def _toml_str(value: str) -> str:
    # A JSON string is a valid TOML basic string (same escapes; JSON never emits "\/").
    return json.dumps(value, ensure_ascii=False)


def _dump(users: dict[str, dict[str, Any]]) -> str:
    lines = ["# 民生实事监督仪表盘账号（由 livelihood-monitor users 维护，请勿手工填写密码）", ""]
    for name in sorted(users):
        entry = users[name]
        lines.append(f"[users.{_toml_str(name)}]")
        for key in ("role", "salt", "hash"):
            lines.append(f"{key} = {_toml_str(str(entry[key]))}")
        n, r, p = entry.get("scrypt", [SCRYPT_N, SCRYPT_R, SCRYPT_P])
        lines.append(f"scrypt = [{int(n)}, {int(r)}, {int(p)}]")
        if "demo_password" in entry:
            lines.append(f"demo_password = {_toml_str(str(entry['demo_password']))}")
        lines.append("")
    return "\n".join(lines)


def _save(path: Path, users: dict[str, dict[str, Any]]) -> None:
    """Write atomically with owner-only permissions: the file holds hashes (and the demo password)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".users-", suffix=".toml", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(_dump(users))
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _entry(password: str, role: Role) -> dict[str, Any]:
    salt = secrets.token_bytes(_SALT_BYTES)
    digest = _hash(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return {
        "role": role,
        "salt": salt.hex(),
        "hash": digest.hex(),
        "scrypt": [SCRYPT_N, SCRYPT_R, SCRYPT_P],
    }


def add_user(path: Path, name: str, password: str, role: str = "viewer") -> User:
    """Create a user, or replace the password and role of an existing one."""
    name = _check_name(name)
    checked_role = _check_role(role)
    if len(password) < _MIN_PASSWORD:
        raise UserError(f"密码太短：至少 {_MIN_PASSWORD} 个字符")
    users = load_users(path)
    # A new password also ends a demo account's known password: it is no longer the demo's.
    users[name] = _entry(password, checked_role)
    _save(path, users)
    return User(name, checked_role)


def verify(path: Path, name: str, password: str) -> User | None:
    """The user if the password is right, else None (same answer for unknown names)."""
    users = load_users(path)
    entry = users.get(name.strip())
    if entry is None:
        # Hash anyway so a wrong name takes as long as a wrong password.
        _hash(password, b"\0" * _SALT_BYTES, SCRYPT_N, SCRYPT_R, SCRYPT_P)
        return None
    try:
        n, r, p = (int(v) for v in entry.get("scrypt", [SCRYPT_N, SCRYPT_R, SCRYPT_P]))
        expected = bytes.fromhex(str(entry["hash"]))
        salt = bytes.fromhex(str(entry["salt"]))
        role = _check_role(str(entry.get("role", "viewer")))
    except (KeyError, ValueError, TypeError):
        return None  # a damaged entry never logs anyone in
    if hmac.compare_digest(_hash(password, salt, n, r, p), expected):
        return User(name.strip(), role)
    return None


def ensure_demo_user(path: Path) -> tuple[str, str]:
    """The demo editor's (name, password); created once with a random password kept in the file.

    Re-running returns the same password while it still works; if someone replaced the demo
    account's password (``users add demo``), a fresh random one is set again.
    """
    users = load_users(path)
    entry = users.get(DEMO_USER)
    if entry is not None and isinstance(entry.get("demo_password"), str):
        password = str(entry["demo_password"])
        user = verify(path, DEMO_USER, password)
        if user is not None and user.role == "editor":
            return DEMO_USER, password
    password = secrets.token_urlsafe(9)  # 12 characters, no look-alike punctuation
    users[DEMO_USER] = {**_entry(password, "editor"), "demo_password": password}
    _save(path, users)
    return DEMO_USER, password
