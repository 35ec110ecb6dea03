"""Ingesting implementing units' progress reports (进度填报) from CSV/XLSX sheets.

Units write sheets their own way: codes or only project names (sometimes abbreviated, with
full-width brackets or curly quotes), ``45``, ``45%`` or ``0.45`` for the same progress, free text
for the completed amount, section rows (``一、教育发展（7项）``) between the projects. This module
reads them (``read_progress_file``, fetch) and saves them (``save_progress``, save):

* names resolve to the year's project codes: exact, then normalised (width, brackets, quotes,
  Traditional), then fuzzy (one project containing the name, the name's characters in order in
  one project's name, or a clearly closest name). Ambiguous and unknown names are rejected with
  the candidates listed, never guessed;
* unknown codes, unparseable or implausible dates, missing or negative progress are rejected
  row by row (``rejected_rows``, Chinese reasons); the rest of the sheet loads;
* progress above 100 and progress lower than an earlier report of the same project are flagged
  (``progress_reports.flags``: ``over_100``, ``went_backwards``), never clipped;
* identity is (``file:progress``, a hash of year, project code and report date): re-importing a
  sheet adds nothing, and a corrected value for the same project and date updates the report.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import pyarrow as pa  # type: ignore[import-untyped]

from livelihood_monitor import db
from livelihood_monitor.ingest_feedback import (
    Counts,
    FileResult,
    Reject,
    RunResult,
    add_run_counts,
    finish_files_run,
    finish_run,
    move_failed,
    move_processed,
    save_rejects,
    start_run,
    statements,
    try_finish_failed,
)
from livelihood_monitor.normalize import normalize_text
from livelihood_monitor.privacy import mask_pii
from livelihood_monitor.registry import Project, load_projects
from livelihood_monitor.tabular import FileUnreadable, display_name, read_sheets
from livelihood_monitor.values import SHANGHAI, clean, parse_date, parse_number, parse_percent

__all__ = [
    "PROGRESS_COLUMNS",
    "SOURCE",
    "ProgressFile",
    "ProgressReport",
    "Resolution",
    "ingest_progress_files",
    "read_progress_file",
    "resolve_project",
    "save_progress",
]

SOURCE = "file:progress"
PROGRESS_COLUMNS: dict[str, tuple[str, ...]] = {
    "project_code": ("项目编号", "编号", "项目代码"),
    "project_name": ("项目名称", "名称"),
    "report_date": ("填报日期", "截至日期", "截止日期", "统计日期"),
    "progress_pct": ("完成进度", "形象进度(%)", "形象进度", "完成比例", "进度(%)"),
    "completed_value": ("完成量", "已完成", "完成数量"),
    "note": ("进展情况", "存在问题", "备注"),
    "unit": ("责任单位", "填报单位", "牵头单位"),
}
REQUIRED = ("report_date", "progress_pct")
FUTURE_TOLERANCE = timedelta(days=7)  # an "as of" date may name the end of the current week
_LATE_REPORTS = timedelta(days=90)  # year-end reports arrive in the first quarter of next year
_SIMILAR = 0.75  # difflib ratio for a "clearly closest" name
_SIMILAR_MARGIN = 0.1
_FUZZY_WORDING = {
    "normalised": "按规范化后的名称（全半角、括号、引号不同）匹配",
    "contains": "按相近名称匹配",
    "in_order": "按相近名称匹配",
    "similar": "按相近名称匹配",
}
_HINT_SIMILARITY = 0.5  # candidates listed for an unknown name
_AMOUNT_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*[^\d\s.]{0,4}\s*$")


# --- resolving names to codes ------------------------------------------------------------------


def name_key(name: str) -> str:
    """A project name reduced to what identifies it: Simplified, half-width, lower case, letters
    and digits only (brackets, quotes, punctuation and spaces dropped)."""
    text = normalize_text(unicodedata.normalize("NFKC", name)).lower()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")


def _in_order(short: str, long: str) -> bool:
    """Whether every character of ``short`` appears in ``long`` in the same order."""
    position = 0
    for ch in short:
        position = long.find(ch, position)
        if position < 0:
            return False
        position += 1
    return True


@dataclass(frozen=True)
class Resolution:
    code: str | None
    method: str  # code | exact | normalised | contains | in_order | similar | ambiguous | unknown
    candidates: tuple[Project, ...] = ()

    def candidates_text(self) -> str:
        return "、".join(f"{p.code} {p.name}" for p in self.candidates)


def resolve_project(
    name: str, projects: Sequence[Project], *, code: str | None = None
) -> Resolution:
    """The project a row means, by code or else by name (see the module docstring)."""
    if code:
        for project in projects:
            if project.code == code:
                return Resolution(code, "code")
        hint = resolve_project(name, projects) if name else None
        return Resolution(None, "unknown", hint.candidates if hint and not hint.code else ())
    name = clean(name)
    exact = [p for p in projects if p.name == name]
    if len(exact) == 1:
        return Resolution(exact[0].code, "exact")
    key = name_key(name)
    if not key:
        return Resolution(None, "unknown")
    keyed = [(p, name_key(p.name)) for p in projects]
    tiers = (
        ("normalised", [p for p, k in keyed if k == key]),
        ("contains", [p for p, k in keyed if key in k or (len(k) >= 2 and k in key)]),
        ("in_order", [p for p, k in keyed if len(key) >= 2 and _in_order(key, k)]),
    )
    for method, found in tiers:
        if len(found) == 1:
            return Resolution(found[0].code, method)
        if len(found) > 1:
            return Resolution(None, "ambiguous", tuple(found[:5]))
    scored = sorted(
        ((difflib.SequenceMatcher(None, key, k).ratio(), p) for p, k in keyed),
        key=lambda pair: -pair[0],
    )
    if scored and scored[0][0] >= _SIMILAR:
        runner_up = scored[1][0] if len(scored) > 1 else 0.0
        if scored[0][0] - runner_up >= _SIMILAR_MARGIN:
            return Resolution(scored[0][1].code, "similar")
        return Resolution(None, "ambiguous", tuple(p for s, p in scored[:3] if s >= runner_up))
    return Resolution(None, "unknown", tuple(p for s, p in scored[:3] if s >= _HINT_SIMILARITY))


# --- reading (fetch) ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ProgressReport:
    row_number: int
    year: int
    project_code: str
    report_date: date
    progress_pct: float
    completed_value: float | None
    note: str | None
    unit: str | None

    @property
    def source_id(self) -> str:
        """Identity of a report: one per project, date and year."""
        key = f"{self.year}|{self.project_code}|{self.report_date.isoformat()}"
        return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass
class ProgressFile:
    """A sheet's usable reports, its rejected rows and notes for the operator."""

    path: Path
    reports: list[ProgressReport] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # fuzzy matches, skipped section rows
    rows_read: int = 0
    skipped: int = 0


def _free_text(value: object) -> str | None:
    text = mask_pii(normalize_text(str(value))) if value is not None else ""
    return text or None


def _completed(value: object) -> tuple[float | None, str | None]:
    """``5800`` → 5800; ``26所`` → 26; anything else → None and the text kept for the note."""
    text = clean(value)
    if not text:
        return None, None
    try:
        return parse_number(value), None
    except ValueError:
        pass
    match = _AMOUNT_RE.match(text)
    if match:
        return float(match.group(1)), None
    return None, _free_text(value)


def read_progress_file(
    path: Path, projects: Sequence[Project], year: int, *, today: date | None = None
) -> ProgressFile:
    """Read and validate one progress sheet against the year's projects.

    Raises ``FileUnreadable`` for whole-file problems (missing column, broken file).
    """
    today = today or datetime.now(SHANGHAI).date()
    earliest, latest = date(year, 1, 1), date(year, 12, 31) + _LATE_REPORTS
    latest = min(latest, today + FUTURE_TOLERANCE)
    result = ProgressFile(path)
    seen: dict[tuple[str, date], int] = {}
    for sheet in read_sheets(path, PROGRESS_COLUMNS, REQUIRED):
        if "project_code" not in sheet.columns and "project_name" not in sheet.columns:
            raise FileUnreadable(
                f"{sheet.label}：缺少必需列 项目编号 或 项目名称（至少要有其一），请按模板补上后重新导入。"
            )
        label = sheet.label

        def header(canonical: str, columns: dict[str, str] = sheet.columns) -> str:
            return columns.get(canonical) or display_name(canonical, PROGRESS_COLUMNS)

        for row in sheet.rows:
            v = {k: row.values.get(k) for k in PROGRESS_COLUMNS}
            text = {k: clean(value) for k, value in v.items()}
            where = f"第{row.row_number}行"
            if not any(text[k] for k in PROGRESS_COLUMNS if k != "project_name"):
                # Only a name (or nothing): a section row like 一、教育发展（7项）, not data.
                result.skipped += 1
                continue
            result.rows_read += 1

            def reject(
                reason: str, raw: str = row.raw, number: int = row.row_number, file: str = label
            ) -> None:
                result.rejects.append(Reject(file, number, reason, raw))

            code_text = text["project_code"].upper()
            name_text = text["project_name"]
            if not code_text and not name_text:
                reject(f"{where}：缺少项目编号和项目名称，无法确定是哪个项目")
                continue
            resolution = resolve_project(name_text, projects, code=code_text or None)
            if resolution.code is None:
                if code_text:
                    hint = (
                        f"；按名称可能是：{resolution.candidates_text()}"
                        if resolution.candidates
                        else ""
                    )
                    named = f"（项目名称：{name_text}）" if name_text else " "
                    reject(
                        f"{where}：{header('project_code')} {code_text}{named}"
                        f"不在 {year} 年项目清单中{hint}"
                    )
                elif resolution.method == "ambiguous":
                    reject(
                        f"{where}：{header('project_name')}“{name_text}”可能对应多个项目："
                        f"{resolution.candidates_text()}；请改填项目编号"
                    )
                else:
                    hint = (
                        f"；相近的项目：{resolution.candidates_text()}"
                        if resolution.candidates
                        else ""
                    )
                    reject(
                        f"{where}：{header('project_name')}“{name_text}”不在 {year} 年项目清单中{hint}"
                    )
                continue
            code = resolution.code
            if resolution.method in _FUZZY_WORDING:
                registered = next(p.name for p in projects if p.code == code)
                result.notes.append(
                    f"{label} {where}：项目名称“{name_text}”{_FUZZY_WORDING[resolution.method]}"
                    f"为 {code} {registered}"
                )
            if not text["report_date"]:
                reject(f"{where}：缺少{header('report_date')}")
                continue
            try:
                report_date = parse_date(v["report_date"])
            except ValueError as exc:
                reject(f"{where}：{header('report_date')}有误：{exc}")
                continue
            if not earliest <= report_date <= latest:
                reject(
                    f"{where}：{header('report_date')} {report_date} 不在 {year} 年度的合理填报期内"
                    f"（{earliest} 至 {latest}），请核对日期"
                )
                continue
            if not text["progress_pct"]:
                reject(f"{where}：缺少{header('progress_pct')}")
                continue
            try:
                pct = parse_percent(v["progress_pct"])
            except ValueError as exc:
                reject(f"{where}：{header('progress_pct')}有误：{exc}")
                continue
            if pct < 0:
                reject(f"{where}：{header('progress_pct')}不能为负数（{text['progress_pct']}）")
                continue
            first = seen.get((code, report_date))
            if first is not None:
                reject(f"{where}：项目 {code} 在 {report_date} 的进度与第{first}行重复")
                continue
            seen[(code, report_date)] = row.row_number
            completed, completed_text = _completed(v["completed_value"])
            # Free text is shown on the dashboard and in letters: normalised (Chinese punctuation
            # kept, unlike clean's NFKC) and masked.
            note = _free_text(v["note"])
            if completed_text:
                # Free text like 参与比例60% stays readable in the note instead of being lost.
                extra = f"{header('completed_value')}：{completed_text}"
                note = f"{note}；{extra}" if note else extra
            result.reports.append(
                ProgressReport(
                    row.row_number,
                    year,
                    code,
                    report_date,
                    pct,
                    completed,
                    note,
                    _free_text(v["unit"]),
                )
            )
    return result


# --- saving (save) ------------------------------------------------------------------------------

_REPORT_SCHEMA = pa.schema(
    [
        ("row_number", pa.int64()),
        ("source_id", pa.string()),
        ("year", pa.int32()),
        ("project_code", pa.string()),
        ("report_date", pa.date32()),
        ("progress_pct", pa.float64()),
        ("completed_value", pa.float64()),
        ("note", pa.string()),
        ("unit", pa.string()),
    ]
)

_FLAG_TEXT = {"over_100": "超过 100%", "went_backwards": "低于此前填报的进度"}


def save_progress(
    con: db.Connection, sheet: ProgressFile, *, run_id: str, year: int
) -> tuple[Counts, list[str]]:
    """Merge a read sheet in the caller's transaction; returns counts and flag notes."""
    sql = statements("queries/ingest_progress.sql")
    reports = sheet.reports
    table = pa.table(
        {
            "row_number": [r.row_number for r in reports],
            "source_id": [r.source_id for r in reports],
            "year": [r.year for r in reports],
            "project_code": [r.project_code for r in reports],
            "report_date": [r.report_date for r in reports],
            "progress_pct": [r.progress_pct for r in reports],
            "completed_value": [r.completed_value for r in reports],
            "note": [r.note for r in reports],
            "unit": [r.unit for r in reports],
        },
        schema=_REPORT_SCHEMA,
    )
    with db.registered(con, "incoming", table):
        con.execute(sql["classify"], {"source": SOURCE})
        actions: dict[str, int] = dict(con.execute(sql["counts"]).fetchall())
        if actions.get("changed"):
            con.execute(sql["update_changed"], {"source": SOURCE})
        if actions.get("new"):
            con.execute(sql["insert_new"], {"source": SOURCE})
        con.execute(sql["refresh_flags"], {"year": year})
        flagged = con.execute(sql["flagged"], {"source": SOURCE}).fetchall()
        con.execute("DROP TABLE progress_actions")

    save_rejects(con, sheet.rejects, run_id=run_id, source=SOURCE)
    counts = Counts(
        read=sheet.rows_read,
        loaded=actions.get("new", 0),
        updated=actions.get("changed", 0),
        duplicate=actions.get("duplicate", 0),
        rejected=len(sheet.rejects),
    )
    add_run_counts(con, run_id, counts)
    notes = [
        f"第{number}行：{code} {day} 进度 {pct:g}% "
        + "、".join(_FLAG_TEXT.get(f, f) for f in str(flags).split(","))
        + "（已标记，照常导入）"
        for number, code, day, pct, flags in flagged
    ]
    return counts, notes


def _projects(warehouse: Path, year: int) -> list[Project]:
    with db.read_connection(warehouse) as con:
        return load_projects(con, year)


def ingest_progress_files(
    warehouse: Path,
    paths: Sequence[Path],
    year: int,
    *,
    move: bool = False,
    today: date | None = None,
) -> RunResult:
    """Ingest progress sheets for ``year`` as one run; one write transaction per file.

    Needs the year's project list in the warehouse (``registry import``). A file that cannot be
    read at all is reported (and, with ``move``, moved to ``failed/`` with a reason file).
    """
    run_id = start_run(warehouse, SOURCE)
    total = Counts()
    results: list[FileResult] = []
    try:
        projects = _projects(warehouse, year)
        if not projects:
            message = (
                f"{year} 年尚未导入项目清单，无法核对进度填报中的项目；"
                f"请先运行 `livelihood-monitor registry import 清单文件 --year {year}`。"
            )
            finish_run(warehouse, run_id, "failed", message)
            return RunResult(run_id, SOURCE, "failed", total, [], message)
        for path in paths:
            try:
                sheet = read_progress_file(path, projects, year, today=today)
            except FileUnreadable as exc:
                result = FileResult(path, "failed", Counts(), str(exc))
                if move and path.exists():
                    result.moved_to = move_failed(path, str(exc), run_id)
                results.append(result)
                continue
            with db.write_transaction(warehouse) as con:
                counts, flag_notes = save_progress(con, sheet, run_id=run_id, year=year)
            summary = counts.summary()
            if sheet.skipped:
                summary += f"；跳过分类标题等非数据行 {sheet.skipped} 行"
            result = FileResult(path, "completed", counts, summary, notes=sheet.notes + flag_notes)
            if move:
                result.moved_to = move_processed(path)
            results.append(result)
            total.add(counts)
    except BaseException as exc:
        try_finish_failed(warehouse, run_id, exc)
        raise
    return finish_files_run(warehouse, run_id, SOURCE, "进度填报", results, total)
