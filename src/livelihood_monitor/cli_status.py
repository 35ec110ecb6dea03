"""``livelihood-monitor status``: rate every project against 时序进度 at a date and save it.

Kept apart from ``cli.py`` so the status engine's command can grow without touching the shared
parser; ``cli.build_parser`` calls ``register(sub, add)``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import unicodedata
from collections.abc import Sequence
from datetime import date
from typing import Any

from livelihood_monitor import db, status
from livelihood_monitor.cli_common import AddCommand
from livelihood_monitor.cli_common import err as _err
from livelihood_monitor.config import Settings

CSV_COLUMNS = (
    "code",
    "name",
    "unit",
    "checkpoint",
    "expected_pct",
    "reported_pct",
    "gap_pct",
    "status",
    "feedback_30d",
    "conflict",
)
FORMATS = ("table", "csv", "json")
_NAME_WIDTH = 24  # display columns; a CJK character takes two
_LIST_MAX = 12  # project codes listed per finding before "等 N 个"


def _as_of(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"日期“{text}”格式不对，应为 YYYY-MM-DD，例如 2025-06-30"
        ) from None


def register(sub: argparse._SubParsersAction[Any], add: AddCommand) -> None:
    """Add the ``status`` subcommand to the main parser."""
    p = add(
        "status",
        "按时序进度评估各项目（年初/年中/年末），结合近期群众意见，并写入 project_status",
        cmd_status,
        sub,
    )
    p.add_argument(
        "--as-of", required=True, type=_as_of, metavar="日期", help="评估日期 YYYY-MM-DD"
    )
    p.add_argument(
        "--year", type=int, metavar="年份", help="项目清单年份（默认取评估日期所在年份）"
    )
    p.add_argument(
        "--format",
        choices=FORMATS,
        default="table",
        metavar="格式",
        help="输出格式：table（中文表格，默认）、csv 或 json",
    )


# --- rendering ------------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def to_csv(rows: Sequence[status.ProjectStatus]) -> str:
    """The CSV contract of issue 5; status and checkpoint as codes, conflict as true/false."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for s in rows:
        writer.writerow(
            [
                s.code,
                s.name,
                s.unit,
                s.checkpoint,
                _pct(s.expected_pct),
                _pct(s.reported_pct),
                _pct(s.gap_pct),
                s.status,
                s.feedback_30d,
                "true" if s.conflict else "false",
            ]
        )
    return buffer.getvalue()


def to_json(rows: Sequence[status.ProjectStatus]) -> str:
    return json.dumps([s.as_dict() for s in rows], ensure_ascii=False, indent=2)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _fit(text: str, width: int) -> str:
    """Cut to ``width`` display columns and pad, so CJK columns line up. The cut is marked with
    ASCII ``..``: "…" is East-Asian-ambiguous and takes one or two columns depending on the
    terminal, which would shift every column after it."""
    if _width(text) > width:
        while _width(text) > width - 2:
            text = text[:-1]
        text += ".."
    return text + " " * (width - _width(text))


def _signed(value: float | None) -> str:
    return "-" if value is None else f"{value:+.1f}"


def to_table(rows: Sequence[status.ProjectStatus], year: int, as_of: date, window_days: int) -> str:
    """A Chinese table for a terminal, then what a supervisor acts on."""
    checkpoint = status.checkpoint_for(as_of, year=year) if not rows else rows[0].checkpoint
    label = status.CHECKPOINT_LABELS[checkpoint]
    headers = (
        ("编号", 6),
        ("项目名称", _NAME_WIDTH),
        ("牵头单位", 18),
        ("时序进度", 8),
        ("填报进度", 8),
        ("差距", 7),
        ("状态", 8),
        (f"近{window_days}天意见", 10),
        ("冲突", 4),
    )
    lines = [
        f"{year} 年民生实事项目进度评估（评估日期 {as_of.isoformat()}，{label}）",
        "  ".join(_fit(h, w) for h, w in headers).rstrip(),
    ]
    for s in rows:
        cells = (
            s.code,
            s.name,
            s.unit,
            f"{s.expected_pct:.1f}%",
            "-" if s.reported_pct is None else f"{s.reported_pct:.1f}%",
            _signed(s.gap_pct),
            s.status_label,
            str(s.feedback_30d),
            "是" if s.conflict else "",
        )
        lines.append(
            "  ".join(_fit(c, w) for c, (_, w) in zip(cells, headers, strict=True)).rstrip()
        )
    counts = status.status_counts(rows)
    summary = "，".join(f"{status.STATUS_LABELS[k]} {v}" for k, v in counts.items())
    lines.append(f"共 {len(rows)} 个项目：{summary}。")
    lines.extend(_findings(rows, checkpoint, window_days))
    return "\n".join(lines)


def _findings(
    rows: Sequence[status.ProjectStatus], checkpoint: status.Checkpoint, window_days: int
) -> list[str]:
    lines: list[str] = []
    conflicts = [s for s in rows if s.conflict]
    if conflicts:
        lines.append(
            f"填报与民意不符 {len(conflicts)} 个（单位填报进度高，群众近期反映未开工、停工或质量差）："
        )
        lines.extend(
            f"  {s.code} {s.name}：填报 {_pct(s.reported_pct)}%，近{window_days}天此类投诉 "
            f"{s.signal.stalled_complaints_30d} 条"
            for s in conflicts
        )
    if checkpoint == "start":
        gaps = [s for s in rows if s.plan_missing]
        if gaps:
            # Grouped by missing item: early in the year most projects lack the same thing.
            lines.append(f"年初问计划：{len(gaps)} 个项目计划不完整：")
            for item, label in status.PLAN_ITEM_LABELS.items():
                codes = [s.code for s in gaps if item in s.plan_missing]
                if codes:
                    more = f" 等 {len(codes)} 个" if len(codes) > _LIST_MAX else ""
                    lines.append(f"  缺少{label}：{'、'.join(codes[:_LIST_MAX])}{more}")
        else:
            lines.append("年初问计划：各项目目标、责任单位和进度计划齐全。")
    if checkpoint == "end":
        met = sum(1 for s in rows if s.result.met is True)
        unmet = [s for s in rows if s.result.met is False]
        unknown = sum(1 for s in rows if s.result.met is None)
        lines.append(
            f"年末问结果：达到目标值 {met} 个，未达到 {len(unmet)} 个，无法判断（缺目标值或完成量）{unknown} 个。"
        )
        lines.extend(
            f"  {s.code} {s.name}：完成 {s.result.final_value:g}，目标 {s.result.target_value:g}"
            for s in unmet
            if s.result.final_value is not None and s.result.target_value is not None
        )
    return lines


# --- handler --------------------------------------------------------------------------------


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    as_of: date = args.as_of
    year: int = args.year or as_of.year
    fmt: str = getattr(args, "format", "table") or "table"
    try:
        thresholds, checkpoints = status.status_config(settings)
        stalled_terms = status.load_stalled_terms()
    except ValueError as exc:
        _err(f"配置有误：{exc}")
        return 2
    if not settings.warehouse.exists():
        _err(
            f"找不到数据仓库 {settings.warehouse}：请先运行 `livelihood-monitor init` 并导入项目清单，"
            "或检查 LM_WAREHOUSE 设置。"
        )
        return 1
    # Brings an older warehouse up to date (project_milestones, the new status columns).
    db.init_warehouse(settings.warehouse)
    with db.write_transaction(settings.warehouse) as con:
        rows = status.compute_status(
            con,
            year,
            as_of,
            thresholds=thresholds,
            checkpoints=checkpoints,
            stalled_terms=stalled_terms,
        )
    if not rows:
        hint = f"；如需评估上一年度，请加 --year {year - 1}" if args.year is None else ""
        _err(
            f"{year} 年尚未导入项目清单，无法评估：请先运行 "
            f"`livelihood-monitor registry import 文件 --year {year}`{hint}。"
        )
        return 2
    done = f"已写入 project_status：{year} 年 {len(rows)} 个项目，评估日期 {as_of.isoformat()}。"
    if fmt == "csv":
        sys.stdout.write(to_csv(rows))
        _err(done)
    elif fmt == "json":
        sys.stdout.write(to_json(rows) + "\n")
        _err(done)
    else:
        print(to_table(rows, year, as_of, thresholds.feedback_window_days), flush=True)
        print(done, flush=True)
    return 0
