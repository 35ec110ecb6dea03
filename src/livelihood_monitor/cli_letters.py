"""``livelihood-monitor letters …`` and ``livelihood-monitor satisfaction …``.

Kept apart from ``cli.py`` (like ``cli_status``): ``cli.build_parser`` calls
``register(sub, add)``. Handlers only parse, call ``letters``/``supervision`` and print Chinese.
"""

from __future__ import annotations

import argparse
import os
import unicodedata
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from livelihood_monitor import db, letters, supervision
from livelihood_monitor.cli_common import AddCommand
from livelihood_monitor.cli_common import err as _err
from livelihood_monitor.cli_common import out as _out
from livelihood_monitor.config import Settings
from livelihood_monitor.letters import LetterError
from livelihood_monitor.tabular import FileUnreadable
from livelihood_monitor.values import SHANGHAI

TOKEN_ENV = "LM_DIRECT_CHANNEL_TOKEN"
URL_ENV = "LM_DIRECT_CHANNEL_URL"


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"日期“{text}”格式不对，应为 YYYY-MM-DD，例如 2025-09-26"
        ) from None


def _group(
    sub: argparse._SubParsersAction[Any], name: str, help_text: str
) -> argparse._SubParsersAction[Any]:
    # The group parser is made by ``sub``, so it is cli.py's Chinese-speaking parser class; its
    # subcommands use the same class.
    group = sub.add_parser(name, help=help_text, description=help_text)
    children: argparse._SubParsersAction[Any] = group.add_subparsers(
        dest=f"{name}_command", metavar="操作", parser_class=type(group)
    )
    children.required = True
    return children


def _actor(p: argparse.ArgumentParser) -> None:
    p.add_argument("--actor", metavar="姓名", help="登记操作人（默认当前系统用户），记入操作记录")


def register(sub: argparse._SubParsersAction[Any], add: AddCommand) -> None:
    """Add the ``letters`` and ``satisfaction`` command groups to the main parser."""
    grp = _group(sub, "letters", "函件：起草意见反馈函、进度提醒函、催办函，登记发出、回函、办结")

    p = add("draft", "按评估日期起草进度提醒函和/或意见反馈函（Word，另生成 PDF）", cmd_draft, grp)
    p.add_argument("--as-of", required=True, type=_date, metavar="日期", help="评估日期 YYYY-MM-DD")
    p.add_argument(
        "--kind",
        choices=("reminder", "feedback", "all"),
        default="all",
        metavar="类型",
        help="reminder（进度提醒函）、feedback（意见反馈函）或 all（默认）",
    )
    p.add_argument("--out", metavar="目录", help="函件输出目录（默认 <data_dir>/letters/<年份>/）")
    p.add_argument(
        "--year", type=int, metavar="年份", help="项目清单年份（默认取评估日期所在年份）"
    )
    p.add_argument(
        "--letter-date", type=_date, metavar="日期", help="函件落款日期（默认同评估日期）"
    )
    p.add_argument(
        "--reply-days",
        type=int,
        metavar="N",
        help=f"答复期限：落款日期后 N 个工作日（默认 {letters.DEFAULT_REPLY_DAYS}）",
    )
    p.add_argument("--no-pdf", action="store_true", help="只生成 Word 文档，不转换 PDF")
    _actor(p)

    p = add("issue", "登记函件已发出（草稿 → 已发出）", cmd_issue, grp)
    p.add_argument("letter_no", metavar="文号", help="例如 扬人常民函〔2025〕12号 或 2025-12")
    p.add_argument("--date", type=_date, metavar="日期", help="发出日期（默认今天）")
    _actor(p)

    p = add("reply", "登记单位回函（.docx/.pdf/.txt），关联到函件各事项", cmd_reply, grp)
    p.add_argument("letter_no", metavar="文号", help="所回复的函件文号（也可为催办函文号）")
    p.add_argument("--file", required=True, metavar="文件", help="回函文件 .docx、.pdf 或 .txt")
    p.add_argument("--received-on", type=_date, metavar="日期", help="收到日期（默认今天）")
    _actor(p)

    p = add("close", "函件办结（已回复 → 已办结）", cmd_close, grp)
    p.add_argument("letter_no", metavar="文号")
    p.add_argument("--note", metavar="说明", help="办结说明")
    _actor(p)

    p = add("discard", "删除未发出的草稿（文号不再使用）", cmd_discard, grp)
    p.add_argument("letter_no", metavar="文号")
    _actor(p)

    p = add("overdue", "标记逾期未复的函件，并为每件起草催办函", cmd_overdue, grp)
    p.add_argument("--today", type=_date, metavar="日期", help="按哪一天判断逾期（默认今天）")
    p.add_argument(
        "--out", metavar="目录", help="催办函输出目录（默认 <data_dir>/letters/<年份>/）"
    )
    p.add_argument("--no-pdf", action="store_true", help="只生成 Word 文档，不转换 PDF")
    _actor(p)

    p = add("list", "列出函件登记簿", cmd_list, grp)
    p.add_argument(
        "--status",
        choices=tuple(letters.STATUS_LABELS),
        metavar="状态",
        help="只列某状态：draft 草稿、issued 已发出、replied 已回复、closed 已办结、overdue 逾期未复",
    )
    p.add_argument("--year", type=int, metavar="年份", help="只列某年的函件")

    p = add("history", "查看一件函件的操作记录（谁、何时、做了什么）", cmd_history, grp)
    p.add_argument("letter_no", metavar="文号")

    p = add(
        "push-results",
        "把单位回函的办理结果推送到“民意直通车”，群众可在小程序中看到",
        cmd_push_results,
        grp,
    )
    p.add_argument("--url", metavar="地址", help=f"民意直通车接口地址（默认取 {URL_ENV}）")
    p.add_argument("--token", metavar="令牌", help=f"接口令牌（默认取 {TOKEN_ENV}）")

    sat = _group(sub, "satisfaction", "满意度测评：导入群众和人大代表的评价，计算项目满意度")
    p = add(
        "import",
        "导入满意度评价（CSV/XLSX：意见编号或项目编号、评价人类型、评价）",
        cmd_satisfaction_import,
        sat,
    )
    p.add_argument("file", metavar="文件", help="评价文件")
    p.add_argument("--year", type=int, metavar="年份", help="项目清单年份（默认 2025 或 LM_YEAR）")
    p = add(
        "score",
        "按项目列出满意度得分（满意 100、基本满意 60、不满意 0，取平均）",
        cmd_satisfaction_score,
        sat,
    )
    p.add_argument("--year", type=int, metavar="年份", help="项目清单年份（默认 2025 或 LM_YEAR）")


# --- helpers --------------------------------------------------------------------------------


def _ready(settings: Settings) -> bool:
    if not settings.warehouse.exists():
        _err(
            f"找不到数据仓库 {settings.warehouse}：请先运行 `livelihood-monitor init` 并导入项目清单，"
            "或检查 LM_WAREHOUSE 设置。"
        )
        return False
    db.init_warehouse(settings.warehouse)  # adds the letters tables to an older warehouse
    return True


def _run(body: Callable[[], int]) -> int:
    """Run a handler body; a refused register operation prints its Chinese reason (exit 2)."""
    try:
        return body()
    except LetterError as exc:
        _err(str(exc))
        return 2


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _fit(text: str, width: int) -> str:
    if _width(text) > width:
        while _width(text) > width - 2:
            text = text[:-1]
        text += ".."
    return text + " " * (width - _width(text))


# --- handlers -------------------------------------------------------------------------------


def cmd_draft(args: argparse.Namespace, settings: Settings) -> int:
    if not _ready(settings):
        return 1
    as_of: date = args.as_of
    year: int = args.year or as_of.year
    kinds: tuple[supervision.DraftKind, ...] = (
        ("reminder", "feedback") if args.kind == "all" else (args.kind,)
    )
    options = letters.options_from_settings(
        settings,
        letter_date=args.letter_date,
        reply_days=args.reply_days,
        actor=args.actor,
        pdf=not args.no_pdf,
    )
    run = supervision.draft_letters(
        settings.warehouse,
        year,
        as_of,
        settings,
        kinds=kinds,
        out_dir=Path(args.out) if args.out else None,
        options=options,
    )
    if run.status_computed:
        _out(f"{as_of.isoformat()} 尚无进度评估结果，已先行评估并写入 project_status。")
    for line in run.lines():
        _out(line)
    return 0


def cmd_issue(args: argparse.Namespace, settings: Settings) -> int:
    if not _ready(settings):
        return 1

    def body() -> int:
        with db.write_transaction(settings.warehouse) as con:
            letter = letters.issue_letter(
                con, args.letter_no, issued_on=args.date, actor=args.actor
            )
        due = letter.due_on.isoformat() if letter.due_on else "-"
        _out(
            f"已登记发出：{letter.letter_no}（{letter.kind_label}，{letter.unit}），"
            f"发出日期 {letter.issued_on}，答复期限 {due}。"
        )
        return 0

    return _run(body)


def cmd_reply(args: argparse.Namespace, settings: Settings) -> int:
    if not _ready(settings):
        return 1
    path = Path(args.file)

    def body() -> int:
        # Read the file (pdftotext may take a moment) before taking the write lock.
        text = letters.read_reply_text(path)
        with db.write_transaction(settings.warehouse) as con:
            letter_no = letters.resolve_letter_no(con, args.letter_no)
            letter = letters.get_letter(con, letter_no)
            store = letters.default_letters_dir(settings, letter.year) / "replies"
            stored = (
                store / f"{letters.letter_file_stem(letter_no, '回函', letter.unit)}{path.suffix}"
            )
            result = letters.save_reply(
                con,
                letter_no,
                file_name=path.name,
                file_sha256=letters.sha256_file(path),
                text=text,
                received_on=args.received_on,
                actor=args.actor,
                stored_path=stored,
            )
        stored.parent.mkdir(parents=True, exist_ok=True)
        stored.write_bytes(path.read_bytes())
        mentioned = sum(1 for link in result.links if link.linked_by == "mention")
        _out(
            f"已登记回函：{result.letter.letter_no}（{result.letter.unit}）→ "
            f"{result.letter.status_label}；关联 {len(result.links)} 项，其中回函点名答复 {mentioned} 项。"
        )
        unnamed = [link.project_code for link in result.links if link.linked_by == "whole_letter"]
        if unnamed:
            _out(f"  回函未点名的项目（以回函全文作为答复）：{'、'.join(dict.fromkeys(unnamed))}")
        if result.also_replied:
            _out(f"  相关催办函同时登记为已回复：{'、'.join(result.also_replied)}")
        if result.discarded:
            _out(f"  未发出的催办函草稿已自动删除：{'、'.join(result.discarded)}")
        _out(f"  回函副本：{stored}")
        return 0

    return _run(body)


def cmd_close(args: argparse.Namespace, settings: Settings) -> int:
    if not _ready(settings):
        return 1

    def body() -> int:
        with db.write_transaction(settings.warehouse) as con:
            letter = letters.close_letter(con, args.letter_no, actor=args.actor, note=args.note)
        _out(f"已办结：{letter.letter_no}（{letter.unit}）。")
        return 0

    return _run(body)


def cmd_discard(args: argparse.Namespace, settings: Settings) -> int:
    if not _ready(settings):
        return 1

    def body() -> int:
        with db.write_transaction(settings.warehouse) as con:
            letter = letters.delete_draft(con, args.letter_no, actor=args.actor)
        _out(f"已删除草稿 {letter.letter_no}（{letter.unit}）；该文号不再使用，操作记录保留。")
        return 0

    return _run(body)


def cmd_overdue(args: argparse.Namespace, settings: Settings) -> int:
    if not _ready(settings):
        return 1
    today: date = args.today or letters.today_shanghai()
    options = letters.options_from_settings(settings, actor=args.actor, pdf=not args.no_pdf)
    run = supervision.flag_overdue(
        settings.warehouse,
        today,
        settings,
        out_dir=Path(args.out) if args.out else None,
        options=options,
    )
    for line in run.lines(today):
        _out(line)
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    if not _ready(settings):
        return 1
    today = letters.today_shanghai()
    with db.read_connection(settings.warehouse) as con:
        rows = letters.list_letters(con, args.status, args.year)
    if not rows:
        which = f"状态为“{letters.STATUS_LABELS[args.status]}”的" if args.status else ""
        _out(f"登记簿中没有{which}函件。")
        return 0
    headers = (
        ("文号", 24),
        ("类型", 10),
        ("单位", 22),
        ("状态", 8),
        ("落款", 10),
        ("答复期限", 10),
    )
    _out("  ".join(_fit(h, w) for h, w in headers).rstrip())
    for r in rows:
        cells = (
            r.letter_no,
            r.kind_label,
            r.unit,
            r.status_label,
            r.letter_date.isoformat() if r.letter_date else "-",
            r.due_on.isoformat() if r.due_on else "-",
        )
        line = "  ".join(_fit(c, w) for c, (_, w) in zip(cells, headers, strict=True)).rstrip()
        late = r.days_overdue(today)
        if late:
            line += f"  已逾期 {late} 天"
        if r.refers_to:
            line += f"  （催办 {r.refers_to}）"
        _out(line)
    _out(f"共 {len(rows)} 件。")
    return 0


def cmd_history(args: argparse.Namespace, settings: Settings) -> int:
    if not _ready(settings):
        return 1

    def body() -> int:
        with db.read_connection(settings.warehouse) as con:
            try:
                letter_no = letters.resolve_letter_no(con, args.letter_no)
            except LetterError:
                letter_no = args.letter_no.strip()  # a deleted draft keeps its history
            events = letters.letter_history(con, letter_no)
        if not events:
            raise LetterError(f"没有函件 {args.letter_no} 的操作记录。")
        _out(f"{letter_no} 操作记录：")
        for e in events:
            change = ""
            if e.from_status or e.to_status:
                change = (
                    f"（{letters.STATUS_LABELS.get(e.from_status or '', e.from_status or '—')} → "
                    f"{letters.STATUS_LABELS.get(e.to_status or '', e.to_status or '—')}）"
                )
            note = f"：{e.note}" if e.note else ""
            at = e.at.astimezone(SHANGHAI) if e.at.tzinfo else e.at
            action = _ACTIONS.get(e.action, e.action)
            _out(f"  {at:%Y-%m-%d %H:%M}  {e.actor}  {action}{change}{note}")
        return 0

    return _run(body)


_ACTIONS = {
    "drafted": "起草",
    "issued": "发出",
    "replied": "收到回函",
    "reply_added": "补充回函",
    "overdue": "逾期",
    "urged": "催办",
    "closed": "办结",
    "deleted": "删除草稿",
}


def cmd_push_results(args: argparse.Namespace, settings: Settings) -> int:
    if not _ready(settings):
        return 1
    url = args.url or os.environ.get(URL_ENV)
    if not url:
        _err(f"请用 --url 指定民意直通车接口地址，或设置环境变量 {URL_ENV}。")
        return 2
    token = args.token or os.environ.get(TOKEN_ENV)
    summary = supervision.push_results(settings.warehouse, url, token)
    for line in summary.lines():
        _out(line)
    return 1 if summary.failed else 0


def cmd_satisfaction_import(args: argparse.Namespace, settings: Settings) -> int:
    if not _ready(settings):
        return 1
    year: int = args.year or settings.year
    path = Path(args.file)
    try:
        rows, rejects, sha = letters.read_satisfaction_file(path)
    except FileUnreadable as exc:
        _err(str(exc))
        _err("整份文件未导入，数据仓库中原有评价保持不变。")
        return 2
    with db.write_transaction(settings.warehouse) as con:
        result = letters.save_satisfaction(
            con, rows, rejects, year=year, file_name=path.name, file_sha256=sha
        )
    for line in result.lines():
        _out(line)
    return 0


def cmd_satisfaction_score(args: argparse.Namespace, settings: Settings) -> int:
    if not _ready(settings):
        return 1
    year: int = args.year or settings.year
    with db.read_connection(settings.warehouse) as con:
        scores = letters.satisfaction_scores(con, year)
    rated = [s for s in scores if s.ratings]
    if not rated:
        _out(f"{year} 年尚无满意度评价：请先运行 `livelihood-monitor satisfaction import 文件`。")
        return 0
    headers = (
        ("编号", 6),
        ("项目名称", 26),
        ("满意度", 7),
        ("群众", 6),
        ("代表", 6),
        ("评价数", 6),
    )
    _out(f"{year} 年民生实事项目满意度（满意 100、基本满意 60、不满意 0，取平均；低分在前）")
    _out("  ".join(_fit(h, w) for h, w in headers).rstrip())

    def fmt(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f}"

    for s in rated:
        cells = (
            s.code,
            s.name,
            fmt(s.score),
            fmt(s.resident_score),
            fmt(s.deputy_score),
            str(s.ratings),
        )
        _out("  ".join(_fit(c, w) for c, (_, w) in zip(cells, headers, strict=True)).rstrip())
    _out(f"已评价项目 {len(rated)} 个，未评价 {len(scores) - len(rated)} 个。")
    return 0
