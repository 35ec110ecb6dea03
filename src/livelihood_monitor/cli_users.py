"""``livelihood-monitor users``: dashboard accounts (``users add``, ``users ensure-demo``).

Kept apart from ``cli.py``; ``cli.build_parser`` calls ``register(sub, add)``.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from livelihood_monitor import users
from livelihood_monitor.cli_common import AddCommand
from livelihood_monitor.config import Settings


def register(sub: argparse._SubParsersAction[Any], add: AddCommand) -> None:
    """Add ``users add NAME --role viewer|editor`` and ``users ensure-demo`` to the main parser."""
    group = sub.add_parser("users", help="仪表盘账号", description="仪表盘账号（只读或编辑角色）")
    group_sub = group.add_subparsers(dest="users_command", metavar="操作", parser_class=type(group))
    group_sub.required = True
    p = add(
        "add",
        "新建账号或重设密码（密码从终端提示输入，或从标准输入读第一行）",
        cmd_users_add,
        group_sub,
    )
    p.add_argument("name", metavar="用户名", help="登录名，例如 zhangsan")
    p.add_argument(
        "--role",
        choices=users.ROLES,
        default="viewer",
        metavar="角色",
        help="viewer（只读，默认）或 editor（可更正意见归类）",
    )
    add(
        "ensure-demo",
        "确保存在演示编辑账号并显示其用户名和密码（已有则沿用原密码）",
        cmd_users_ensure_demo,
        group_sub,
    )


def _read_password() -> str | None:
    """From the terminal (asked twice), or the first line of stdin when it is not a terminal."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("密码：")
    second = getpass.getpass("再次输入密码：")
    return first if first == second else None


def cmd_users_add(args: argparse.Namespace, settings: Settings) -> int:
    password = _read_password()
    if password is None:
        print("两次输入的密码不一致，账号未保存。", file=sys.stderr, flush=True)
        return 2
    try:
        user = users.add_user(settings.resolved_users_file, args.name, password, args.role)
    except users.UserError as exc:
        print(f"{exc}；账号未保存。", file=sys.stderr, flush=True)
        return 2
    print(
        f"已保存账号 {user.name}（{user.role_label}），账号文件：{settings.resolved_users_file}",
        flush=True,
    )
    return 0


def cmd_users_ensure_demo(args: argparse.Namespace, settings: Settings) -> int:
    try:
        name, password = users.ensure_demo_user(settings.resolved_users_file)
    except users.UserError as exc:
        print(str(exc), file=sys.stderr, flush=True)
        return 1
    print(f"演示编辑账号  用户名：{name}  密码：{password}", flush=True)
    print(f"（账号文件：{settings.resolved_users_file}；正式使用请另建账号）", flush=True)
    return 0
