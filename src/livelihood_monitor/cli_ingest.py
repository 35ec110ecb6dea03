"""The ``ingest`` and ``sample-api`` subcommands of ``livelihood-monitor``.

``cli.build_parser`` calls ``register(sub, add)``. Handlers are thin: they call the plain
functions of ``ingest_feedback``, ``ingest_progress`` and ``direct_channel`` and print Chinese
summaries. Exit codes as for the whole command: 0 the run completed (rows may have been rejected,
they are listed), 1 the run failed, 2 bad usage or a file that could not be read at all.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from livelihood_monitor import db
from livelihood_monitor.cli_common import AddCommand
from livelihood_monitor.cli_common import err as _err
from livelihood_monitor.cli_common import out as _out
from livelihood_monitor.config import Settings
from livelihood_monitor.ingest_feedback import (
    DEFAULT_BATCH_ROWS,
    FILE_CHANNELS,
    FileResult,
    ProgressEvent,
    RunResult,
    statements,
)

__all__ = ["register"]

URL_ENV = "LM_DIRECT_CHANNEL_URL"
TOKEN_ENV = "LM_DIRECT_CHANNEL_TOKEN"
PROGRESS_INBOX = "progress"  # <data_dir>/inbox/progress/ holds units' progress sheets
DEFAULT_SAMPLE_PORT = 8765
_SHOWN_REJECTS = 30

_CHANNEL_NAMES = {
    "observation_point": "民情观察点",
    "meeting_day": "统一见面日",
    "hotline": "热线",
    "other": "其他渠道",
}


# --- shared printing ------------------------------------------------------------------------------


def _progress_printer(min_interval_s: float = 2.0) -> Callable[[ProgressEvent], None]:
    """Progress lines (stderr) for long runs only: the first after ``min_interval_s``."""
    shown = {"at": 0.0}

    def show(event: ProgressEvent) -> None:
        if event.kind == "batch" and event.elapsed_s - shown["at"] >= min_interval_s:
            shown["at"] = event.elapsed_s
            _err(
                f"  {event.file}：已处理 {event.file_rows:,} 行，"
                f"本次共 {event.run_rows:,} 行（{event.rate:,.0f} 行/秒）"
            )

    return show


def _print_files(files: Sequence[FileResult]) -> None:
    for result in files:
        if result.status == "completed":
            moved = f"（已移至 {result.moved_to.parent.name}/）" if result.moved_to else ""
            _out(f"  完成 {result.path.name}：{result.message}{moved}")
        else:
            moved = (
                f"（已移至 failed/，原因见 {result.moved_to.name}.reason.txt）"
                if result.moved_to
                else ""
            )
            _err(f"  失败 {result.path.name}：{result.message}{moved}")
        for note in result.notes:
            _out(f"    提示：{note}")


def _print_rejects(warehouse: Path, run_id: str) -> None:
    _, rows = db.read_rows(
        warehouse,
        statements("queries/ingest_runs.sql")["run_rejects"],
        {"run_id": run_id, "limit": _SHOWN_REJECTS + 1},
    )
    if not rows:
        return
    _err("  拒收的行（已记入 rejected_rows，修正后可重新导入）：")
    for file, reason in rows[:_SHOWN_REJECTS]:
        _err(f"    {file} {reason}")
    if len(rows) > _SHOWN_REJECTS:
        _err(f"    ……更多见 rejected_rows 表（run_id = {run_id}）")


def _finish(settings: Settings, result: RunResult, title: str) -> int:
    _print_files(result.files)
    if result.counts.rejected:
        _print_rejects(settings.warehouse, result.run_id)
    _out(f"{title}：{result.counts.summary()}（导入批次 {result.run_id}）")
    if result.status != "completed":
        _err(result.message)
        return 1
    return 2 if result.failed_files else 0


# --- handlers -------------------------------------------------------------------------------------


def cmd_ingest_feedback(args: argparse.Namespace, settings: Settings) -> int:
    from livelihood_monitor.ingest_feedback import ingest_feedback_files

    paths = [Path(p) for p in args.paths]
    _out(f"导入{_CHANNEL_NAMES[args.channel]}意见：{len(paths)} 个文件 → {settings.warehouse}")
    result = ingest_feedback_files(
        settings.warehouse,
        paths,
        args.channel,
        move=args.move,
        batch_rows=args.batch_rows,
        on_progress=_progress_printer(),
    )
    return _finish(settings, result, "本次导入")


def cmd_ingest_progress(args: argparse.Namespace, settings: Settings) -> int:
    from livelihood_monitor.ingest_progress import ingest_progress_files

    year = args.year or settings.year
    paths = [Path(p) for p in args.paths]
    _out(f"导入 {year} 年进度填报：{len(paths)} 个文件 → {settings.warehouse}")
    result = ingest_progress_files(settings.warehouse, paths, year, move=args.move)
    return _finish(settings, result, "本次导入")


def _setting(args_value: str | None, env: str, settings: Settings, key: str) -> str | None:
    value = args_value or os.environ.get(env) or settings.extra.get(key)
    return str(value) if value else None


def cmd_ingest_api(args: argparse.Namespace, settings: Settings) -> int:
    from livelihood_monitor import direct_channel
    from livelihood_monitor.values import parse_datetime

    url = _setting(args.url, URL_ENV, settings, "direct_channel_url")
    token = _setting(args.token, TOKEN_ENV, settings, "direct_channel_token")
    if not url:
        _err(f"缺少接口地址：请用 --url 指定，或设置环境变量 {URL_ENV}。")
        return 2
    if not token:
        _err(
            f"缺少访问令牌：请用 --token 指定，或设置环境变量 {TOKEN_ENV}（更安全，不会出现在进程列表中）。"
        )
        return 2
    since = None
    if args.since:
        try:
            since = parse_datetime(args.since).isoformat()
        except ValueError as exc:
            _err(f"--since 参数有误：{exc}")
            return 2
    start = since or direct_channel.get_high_water_mark(settings.warehouse)
    _out(f"读取民意直通车接口 {url}，起点：{start or '全部'}")

    def on_page(page: direct_channel.Page, so_far: Any) -> None:
        _err(f"  第 {page.number} 页：{len(page.items)} 条已保存（累计 {so_far.summary('条')}）")

    try:
        result = direct_channel.ingest_api(
            settings.warehouse, url, token, since=since, page_size=args.page_size, on_page=on_page
        )
    except direct_channel.DirectChannelError as exc:
        _err(str(exc))
        return 1
    if result.counts.rejected:
        _print_rejects(settings.warehouse, result.run_id)
    _out(f"{result.message}（导入批次 {result.run_id}）")
    return 0


def cmd_ingest_inbox(args: argparse.Namespace, settings: Settings) -> int:
    from livelihood_monitor.ingest_feedback import inbox_files, ingest_inbox
    from livelihood_monitor.ingest_progress import ingest_progress_files

    root = Path(args.root) if args.root else settings.data_dir / "inbox"
    # The folders are created so operators (and upload scripts) know where files go.
    for name in (*FILE_CHANNELS, PROGRESS_INBOX):
        (root / name).mkdir(parents=True, exist_ok=True)
    code = 0
    found_any = False
    for channel in FILE_CHANNELS:
        inbox = root / channel
        if not inbox_files(inbox, settle_s=args.settle):
            continue
        found_any = True
        _out(f"收件箱 {inbox}（{_CHANNEL_NAMES[channel]}）：")
        result = ingest_inbox(
            settings.warehouse,
            inbox,
            channel,
            settle_s=args.settle,
            on_progress=_progress_printer(),
        )
        code = max(code, _finish(settings, result, f"{_CHANNEL_NAMES[channel]}"))
    progress_files = inbox_files(root / PROGRESS_INBOX, settle_s=args.settle)
    if progress_files:
        found_any = True
        year = args.year or settings.year
        _out(f"收件箱 {root / PROGRESS_INBOX}（{year} 年进度填报）：")
        result = ingest_progress_files(settings.warehouse, progress_files, year, move=True)
        code = max(code, _finish(settings, result, "进度填报"))
    if not found_any:
        _out(f"收件箱 {root} 中没有待导入的文件。")
    return code


def cmd_sample_api(args: argparse.Namespace, settings: Settings) -> int:
    from livelihood_monitor.direct_channel import SampleApiServer

    try:
        server = SampleApiServer(
            args.port,
            args.token,
            Path(args.data) if args.data else None,
            results_path=Path(args.results) if args.results else None,
            verbose=args.verbose,
        )
    except OSError as exc:
        _err(f"无法在 127.0.0.1:{args.port} 启动示例接口：{exc}（端口可能已被占用）")
        return 1
    _out(
        f"民意直通车示例接口：{server.url}/opinions（令牌 {args.token}，{len(server.opinions)} 条示例留言）。"
        "按 Ctrl+C 停止。"
    )
    _out(f"导入示例：livelihood-monitor ingest api --url {server.url} --token {args.token}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.httpd.server_close()
    _out("示例接口已停止。")
    return 0


# --- parser ---------------------------------------------------------------------------------------


def register(sub: argparse._SubParsersAction[Any], add: AddCommand) -> None:
    """Add ``ingest feedback|progress|api|inbox`` and ``sample-api`` to the command's parser.

    ``sub`` is the top-level subparsers action and ``add`` the ``add(name, help_text, handler,
    parent=sub)`` helper of ``cli.build_parser``.
    """
    description = "导入数据：群众意见文件、民意直通车接口、责任单位进度填报"
    ingest = sub.add_parser("ingest", help=description, description=description)
    ingest_sub = ingest.add_subparsers(
        dest="ingest_command", metavar="数据源", parser_class=type(ingest)
    )
    ingest_sub.required = True

    feedback = add(
        "feedback",
        "导入群众意见文件（CSV UTF-8/GB18030、XLSX、JSON、JSONL）；重复导入不会重复入库",
        cmd_ingest_feedback,
        ingest_sub,
    )
    feedback.add_argument("paths", nargs="+", metavar="文件", help="一个或多个意见文件")
    feedback.add_argument(
        "--channel",
        choices=FILE_CHANNELS,
        default="observation_point",
        help="来源渠道：observation_point 民情观察点（默认）、meeting_day 统一见面日、hotline 热线、other 其他",
    )
    feedback.add_argument(
        "--move",
        action="store_true",
        help="导入后把文件移到同目录的 processed/，无法读取的移到 failed/ 并附原因文件",
    )
    feedback.add_argument(
        "--batch-rows",
        type=int,
        default=DEFAULT_BATCH_ROWS,
        metavar="行数",
        help=f"每批提交的行数（默认 {DEFAULT_BATCH_ROWS}；中断后重跑只需补导未提交的批次）",
    )

    progress = add(
        "progress",
        "导入责任单位进度填报（CSV/XLSX；可只填项目名称，按名称匹配项目编号）",
        cmd_ingest_progress,
        ingest_sub,
    )
    progress.add_argument("paths", nargs="+", metavar="文件", help="一个或多个进度填报表")
    progress.add_argument(
        "--year", type=int, metavar="年份", help="项目年度（默认 2025 或 LM_YEAR）"
    )
    progress.add_argument(
        "--move", action="store_true", help="导入后把文件移到 processed/ 或 failed/"
    )

    api = add(
        "api",
        "从民意直通车接口导入留言（逐页提交，从上次的高水位继续）",
        cmd_ingest_api,
        ingest_sub,
    )
    api.add_argument(
        "--url", metavar="地址", help=f"接口地址，例如 http://127.0.0.1:8765（或 {URL_ENV}）"
    )
    api.add_argument("--token", metavar="令牌", help=f"访问令牌（或环境变量 {TOKEN_ENV}）")
    api.add_argument(
        "--since", metavar="时间", help="从该时间起读取（ISO 8601，默认取上次导入的高水位）"
    )
    api.add_argument(
        "--page-size", type=int, default=100, metavar="条数", help="每页条数（最多 100）"
    )

    inbox = add(
        "inbox",
        "导入收件箱中的全部文件：<数据目录>/inbox/<渠道>/ 与 inbox/progress/",
        cmd_ingest_inbox,
        ingest_sub,
    )
    inbox.add_argument(
        "--root",
        metavar="目录",
        help="收件箱根目录（默认 <数据目录>/inbox，数据目录见 LM_DATA_DIR）",
    )
    inbox.add_argument(
        "--year", type=int, metavar="年份", help="进度填报的项目年度（默认 2025 或 LM_YEAR）"
    )
    inbox.add_argument(
        "--settle",
        type=float,
        default=2.0,
        metavar="秒",
        help="最近这么多秒内仍在变化的文件视为尚未传完，留待下次（默认 2）",
    )

    sample = add(
        "sample-api",
        "在 127.0.0.1 上启动民意直通车示例接口（内置示例留言，供演示和测试）",
        cmd_sample_api,
    )
    sample.add_argument(
        "--port",
        type=int,
        default=DEFAULT_SAMPLE_PORT,
        metavar="端口",
        help=f"端口（默认 {DEFAULT_SAMPLE_PORT}）",
    )
    sample.add_argument(
        "--token", default="demo-token", metavar="令牌", help="访问令牌（默认 demo-token）"
    )
    sample.add_argument(
        "--data", metavar="文件", help="留言 JSON（默认内置 direct_channel/opinions.json）"
    )
    sample.add_argument("--results", metavar="文件", help="把回传的办理结果也写入该 JSON 文件")
    sample.add_argument("--verbose", action="store_true", help="打印每个请求")
