"""Read queries for the dashboard. The only module the dashboard uses to reach the warehouse.

Each call opens a short-lived read-only connection (retrying while a flow holds the write lock)
and returns a DataFrame, so the dashboard caches results, never connections. Every query is a
``warehouse/queries/*.sql`` file with bound parameters; the heavy ones aggregate in DuckDB and
return a handful of rows (a million feedback rows never reach pandas).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from livelihood_monitor import db

SHANGHAI = ZoneInfo("Asia/Shanghai")
LOW_CONFIDENCE = 0.6  # below this a classifier's match goes to the triage queue
TRIAGE_KINDS = ("all", "none", "low", "unclassified")
EXPORT_MAX_ROWS = 100_000  # a CSV download is for reading in Excel, not a dump


def _frame(warehouse: Path, query_file: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
    columns, rows = db.read_rows(warehouse, db.load_sql(f"queries/{query_file}"), params)
    return pd.DataFrame.from_records(rows, columns=columns)


def _run(con: db.Connection, query_file: str, params: dict[str, Any]) -> pd.DataFrame:
    cur = con.execute(db.load_sql(f"queries/{query_file}"), params)
    columns = [d[0] for d in cur.description or []]
    return pd.DataFrame.from_records(cur.fetchall(), columns=columns)


_NAMED = re.compile(r"^-- name: (\w+)[ \t]*$", re.MULTILINE)


def _statements(query_file: str) -> list[str]:
    """The ``-- name: x`` statements of a SQL file, in file order."""
    parts = _NAMED.split(db.load_sql(f"queries/{query_file}"))
    return [sql.strip() for sql in parts[2::2]]


# Starting a DuckDB instance costs 40-70 ms on a 2-core machine whatever the file, so each page
# reads what it shows on one short-lived connection (the *_page functions below) rather than one
# connection per query. The connection is closed before the page renders anything.


def day_start(day: date) -> datetime:
    """Midnight of ``day`` in Asia/Shanghai, as an aware datetime (binds as TIMESTAMPTZ)."""
    return datetime.combine(day, time(0), tzinfo=SHANGHAI)


def year_bounds(year: int) -> tuple[datetime, datetime]:
    return day_start(date(year, 1, 1)), day_start(date(year + 1, 1, 1))


# --- existing ------------------------------------------------------------------------------


def years(warehouse: Path) -> list[int]:
    return [int(y) for y in _frame(warehouse, "years.sql")["year"]]


def projects_overview(warehouse: Path, year: int) -> pd.DataFrame:
    return _frame(warehouse, "projects_overview.sql", {"year": year})


# --- 总览 ----------------------------------------------------------------------------------


def status_dates(warehouse: Path, year: int) -> pd.DataFrame:
    """Dates the status engine was run for ``year``: as_of, checkpoint, projects."""
    return _frame(warehouse, "dash_status_dates.sql", {"year": year})


def overview_at(warehouse: Path, year: int, as_of: date) -> pd.DataFrame:
    """Every project of ``year`` with its stored status on ``as_of`` or the latest before it."""
    return _frame(warehouse, "dash_overview.sql", {"year": year, "as_of": as_of})


# --- 项目详情 ------------------------------------------------------------------------------


def project_reports(warehouse: Path, year: int, code: str) -> pd.DataFrame:
    return _frame(warehouse, "dash_project_reports.sql", {"year": year, "code": code})


def project_plan(warehouse: Path, year: int, code: str) -> pd.DataFrame:
    return _frame(warehouse, "dash_project_plan.sql", {"year": year, "code": code})


def project_status_history(warehouse: Path, year: int, code: str) -> pd.DataFrame:
    return _frame(warehouse, "dash_project_status_history.sql", {"year": year, "code": code})


def _project_messages(con: db.Connection, year: int, code: str) -> None:
    """Fill the connection's TEMP table ``project_messages`` (see dash_project_messages.sql)."""
    con.execute(db.load_sql("queries/dash_project_messages.sql"), {"year": year, "code": code})


def project_feedback(warehouse: Path, year: int, code: str, limit: int = 50) -> pd.DataFrame:
    """The newest ``limit`` messages whose deciding match names the project (masked text)."""
    with db.read_connection(warehouse) as con:
        _project_messages(con, year, code)
        return _run(con, "dash_project_feedback.sql", {"limit": limit})


def project_feedback_summary(
    warehouse: Path, year: int, code: str, terms: int = 10
) -> pd.DataFrame:
    """(kind, key, n): messages per message type ('type') and the hottest terms ('term')."""
    with db.read_connection(warehouse) as con:
        _project_messages(con, year, code)
        return _run(con, "dash_project_feedback_summary.sql", {"terms": terms})


def unit_letters(warehouse: Path, year: int, unit: str) -> pd.DataFrame:
    return _frame(warehouse, "dash_unit_letters.sql", {"year": year, "unit": unit})


@dataclass(frozen=True)
class ProjectDetail:
    reports: pd.DataFrame
    plan: pd.DataFrame
    history: pd.DataFrame
    feedback_summary: pd.DataFrame
    feedback: pd.DataFrame
    letters: pd.DataFrame


def project_page(
    warehouse: Path, year: int, code: str, unit: str, limit: int = 30
) -> ProjectDetail:
    """Everything 项目详情 shows about one project, read on one connection."""
    key = {"year": year, "code": code}
    with db.read_connection(warehouse) as con:
        _project_messages(con, year, code)  # read once, for both the summary and the list
        return ProjectDetail(
            reports=_run(con, "dash_project_reports.sql", key),
            plan=_run(con, "dash_project_plan.sql", key),
            history=_run(con, "dash_project_status_history.sql", key),
            feedback_summary=_run(con, "dash_project_feedback_summary.sql", {"terms": 10}),
            feedback=_run(con, "dash_project_feedback.sql", {"limit": limit}),
            letters=_run(con, "dash_unit_letters.sql", {"year": year, "unit": unit}),
        )


@dataclass(frozen=True)
class PlanPoint:
    on: date
    pct: float


def expected_line(
    start: date, due: date, milestones: Sequence[tuple[date, float]] = ()
) -> list[PlanPoint]:
    """The corner points of the 时序进度 line, so a chart drawing straight lines between them shows
    exactly ``status.expected_pct``: 0 at start → 100 at due, or through the unit's plan."""
    if not milestones:
        return [PlanPoint(start, 0.0), PlanPoint(due, 100.0)]
    plan: dict[date, float] = {}
    for on, pct in milestones:
        plan[on] = max(plan.get(on, 0.0), min(100.0, max(0.0, float(pct))))
    points = sorted(plan.items())
    if points[0][0] > start:
        points.insert(0, (start, 0.0))
    if points[-1][0] < due and points[-1][1] < 100.0:
        points.append((due, 100.0))
    return [PlanPoint(on, pct) for on, pct in points]


# --- 民情 ----------------------------------------------------------------------------------


def feedback_latest(warehouse: Path, start: datetime, end: datetime) -> tuple[datetime | None, int]:
    """When the latest message in [start, end) was received, and how many there are."""
    frame = _frame(warehouse, "dash_feedback_latest.sql", {"start": start, "end": end})
    latest = frame["latest"].iloc[0]
    return (None if pd.isna(latest) else latest.to_pydatetime(), int(frame["messages"].iloc[0]))


def feedback_breakdown(warehouse: Path, start: datetime, end: datetime) -> pd.DataFrame:
    """(dim, key, week_start, n, latest) by channel, observation_point, district and week, and
    one 'total' row with the count and the latest time."""
    return _frame(warehouse, "dash_feedback_breakdown.sql", {"start": start, "end": end})


def _window(con: db.Connection, year: int, start: datetime, end: datetime) -> None:
    """Fill the connection's TEMP tables window_feedback and window_matches."""
    params: dict[str, Any] = {"start": start, "end": end}
    feedback_sql, matches_sql = _statements("dash_window_matches.sql")
    con.execute(feedback_sql, params)
    con.execute(matches_sql, {"year": year})


def hot_issues(
    warehouse: Path, year: int, start: datetime, end: datetime, limit: int = 10
) -> pd.DataFrame:
    """(kind, key, n): hottest matched terms ('term') and most-mentioned projects ('project')."""
    with db.read_connection(warehouse) as con:
        _window(con, year, start, end)
        return _run(con, "dash_hot_issues.sql", {"limit": limit})


@dataclass(frozen=True)
class TriageQueue:
    counts: dict[str, int]  # reason -> messages waiting: none | low | unclassified
    items: pd.DataFrame  # the shown messages, most urgent and newest first

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _triage(con: db.Connection, year: int, threshold: float, kind: str, limit: int) -> TriageQueue:
    """The queue over the connection's window tables, with the shown messages' details."""
    if kind not in TRIAGE_KINDS:
        raise ValueError(f"unknown triage kind {kind!r}")
    rows = con.execute(
        db.load_sql("queries/dash_triage_queue.sql"),
        {"threshold": threshold, "kind": kind, "limit": limit},
    ).fetchall()
    counts = {str(r[2]): int(r[4]) for r in rows if r[0] == "count"}
    items = [r for r in rows if r[0] == "item"]
    if not items:
        return TriageQueue(counts, pd.DataFrame())
    ids = [int(r[1]) for r in items]
    details = _run(con, "dash_feedback_details.sql", {"ids": ids, "year": year})
    meta = {int(r[1]): (str(r[2]), r[3]) for r in items}
    details["reason"] = details["feedback_id"].map(lambda f: meta[int(f)][0])
    details["urgency"] = details["feedback_id"].map(lambda f: meta[int(f)][1])
    rank = {fid: i for i, fid in enumerate(ids)}
    details = details.sort_values("feedback_id", key=lambda col: col.map(rank))
    return TriageQueue(counts, details.reset_index(drop=True))


def triage_queue(
    warehouse: Path,
    year: int,
    start: datetime,
    end: datetime,
    *,
    threshold: float = LOW_CONFIDENCE,
    kind: str = "all",
    limit: int = 50,
) -> TriageQueue:
    """Messages received in [start, end) waiting for an editor: the classifier found no project,
    or was less than ``threshold`` sure, or has not run."""
    with db.read_connection(warehouse) as con:
        _window(con, year, start, end)
        return _triage(con, year, threshold, kind, limit)


def feedback_window(
    latest: datetime, now: datetime, days: int, year: int
) -> tuple[datetime, datetime]:
    """[start, end) of the last ``days`` days up to the day of the latest message (or today).

    Ending at the latest message, a past year shows its last weeks instead of an empty
    "last 30 days"; the window never reaches back before the year.
    """
    last_day = min(latest.astimezone(SHANGHAI), now.astimezone(SHANGHAI)).date()
    end = day_start(last_day + timedelta(days=1))
    return max(year_bounds(year)[0], end - timedelta(days=days)), end


@dataclass(frozen=True)
class OpinionOverview:
    messages: int  # received in the year
    latest: datetime | None
    window_start: datetime
    window_end: datetime
    breakdown: pd.DataFrame  # feedback_breakdown of the year
    hot: pd.DataFrame  # hot_issues of the window
    queue: TriageQueue  # triage_queue of the window


def opinion_page(
    warehouse: Path,
    year: int,
    days: int,
    *,
    threshold: float = LOW_CONFIDENCE,
    kind: str = "all",
    limit: int = 50,
    now: datetime | None = None,
) -> OpinionOverview:
    """Everything 民情 shows, read on one connection; the window's messages are read once for
    both the hot issues and the triage queue."""
    start, end = year_bounds(year)
    with db.read_connection(warehouse) as con:
        # One pass over the year gives the charts, the message count and the latest message.
        breakdown = _run(con, "dash_feedback_breakdown.sql", {"start": start, "end": end})
        total = breakdown[breakdown["dim"] == "total"]
        messages = int(total["n"].iloc[0]) if not total.empty else 0
        if messages == 0:
            empty = pd.DataFrame()
            return OpinionOverview(0, None, start, end, empty, empty, TriageQueue({}, empty))
        latest = total["latest"].iloc[0].to_pydatetime()
        w_start, w_end = feedback_window(latest, now or datetime.now(SHANGHAI), days, year)
        _window(con, year, w_start, w_end)
        hot = _run(con, "dash_hot_issues.sql", {"limit": 10})
        queue = _triage(con, year, threshold, kind, limit)
    return OpinionOverview(messages, latest, w_start, w_end, breakdown, hot, queue)


# --- 函件 ----------------------------------------------------------------------------------


def letters(
    warehouse: Path, year: int, statuses: Sequence[str] = (), limit: int = 500
) -> pd.DataFrame:
    """The letters register of ``year`` (only ``statuses`` if given), newest first."""
    return _frame(
        warehouse,
        "dash_letters.sql",
        {"year": year, "statuses": list(statuses), "limit": limit},
    )


def letter_counts(warehouse: Path, year: int) -> dict[str, int]:
    frame = _frame(warehouse, "dash_letter_counts.sql", {"year": year})
    return {
        str(k): int(n) for k, n in zip(frame.get("status", []), frame.get("n", []), strict=True)
    }


@dataclass(frozen=True)
class LettersOverview:
    counts: dict[str, int]  # status -> letters of the year
    register: pd.DataFrame  # the chosen statuses, newest first


def letters_page(
    warehouse: Path, year: int, statuses: Sequence[str] = (), limit: int = 500
) -> LettersOverview:
    with db.read_connection(warehouse) as con:
        counts = _run(con, "dash_letter_counts.sql", {"year": year})
        register = _run(
            con,
            "dash_letters.sql",
            {"year": year, "statuses": list(statuses), "limit": limit},
        )
    return LettersOverview(
        {str(s): int(n) for s, n in zip(counts["status"], counts["n"], strict=True)}, register
    )


def resolve_file(stored: str | None, data_dir: Path) -> Path | None:
    """A letter file as stored (absolute, or relative to the data folder or the working folder),
    if it exists on this machine."""
    if not stored:
        return None
    path = Path(stored)
    for candidate in (path,) if path.is_absolute() else (data_dir / path, Path.cwd() / path):
        if candidate.is_file():
            return candidate
    return None


# --- 数据质量 ------------------------------------------------------------------------------


def ingest_runs(warehouse: Path, limit: int = 200) -> pd.DataFrame:
    return _frame(warehouse, "dash_ingest_runs.sql", {"limit": limit})


def rejected_summary(warehouse: Path, limit: int = 200) -> pd.DataFrame:
    return _frame(warehouse, "dash_rejected_summary.sql", {"limit": limit})


def rejected_rows(warehouse: Path, run_id: str | None = None, limit: int = 500) -> pd.DataFrame:
    return _frame(warehouse, "dash_rejected_rows.sql", {"run_id": run_id, "limit": limit})


def rejected_count(warehouse: Path, run_id: str | None = None) -> int:
    frame = _frame(warehouse, "dash_rejected_count.sql", {"run_id": run_id})
    return int(frame["n"].iloc[0])


@dataclass(frozen=True)
class QualityOverview:
    runs: pd.DataFrame
    summary: pd.DataFrame  # rejected rows by source, file and kind of reason
    rows: pd.DataFrame  # the newest rejected rows (of ``run_id`` if given)
    rejected_total: int
    rejected_shown_of: int  # rejected rows of ``run_id`` (or all)


def quality_page(warehouse: Path, run_id: str | None = None, limit: int = 500) -> QualityOverview:
    with db.read_connection(warehouse) as con:
        runs = _run(con, "dash_ingest_runs.sql", {"limit": 200})
        summary = _run(con, "dash_rejected_summary.sql", {"limit": 200})
        rows = _run(con, "dash_rejected_rows.sql", {"run_id": run_id, "limit": limit})
        total = int(_run(con, "dash_rejected_count.sql", {"run_id": None})["n"].iloc[0])
        of_run = (
            total
            if run_id is None
            else int(_run(con, "dash_rejected_count.sql", {"run_id": run_id})["n"].iloc[0])
        )
    return QualityOverview(runs, summary, rows, total, of_run)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def escape_formula(value: object) -> object:
    """A text cell that Excel would run as a formula (``=``, ``+``, ``-``, ``@``, tab, CR first)
    gets a leading apostrophe, so a crafted rejected row cannot execute on an operator's machine."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _missing(value: object) -> bool:
    try:
        return bool(pd.isna(value))  # type: ignore[call-overload]
    except (TypeError, ValueError):  # lists and arrays are values, not missing
        return False


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """CSV for Excel in China: UTF-8 with BOM (so Chinese shows right), formulas escaped."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([escape_formula(str(c)) for c in frame.columns])
    for row in frame.itertuples(index=False, name=None):
        writer.writerow(["" if _missing(v) else escape_formula(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def rejected_rows_csv(warehouse: Path, run_id: str | None = None) -> bytes:
    """The rejected rows (at most ``EXPORT_MAX_ROWS``) as a formula-escaped CSV, Chinese headers."""
    frame = rejected_rows(warehouse, run_id, EXPORT_MAX_ROWS)
    frame = frame.rename(
        columns={
            "run_id": "导入批次",
            "source": "来源",
            "file": "文件",
            "row_number": "行号",
            "reason": "原因",
            "raw": "原始内容",
            "rejected": "拒收时间",
        }
    )
    return csv_bytes(frame)
