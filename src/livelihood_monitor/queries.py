"""Read queries for the dashboard. The only module the dashboard uses to reach the warehouse.

Each call opens a short-lived read-only connection (retrying while a flow holds the write lock)
and returns a DataFrame, so the dashboard caches results, never connections. Every query is a
``warehouse/queries/*.sql`` file with bound parameters; the heavy ones aggregate in DuckDB and
return a handful of rows (a million feedback rows never reach pandas). Hot issues are the one
grouping done in Python, on at most ``ISSUE_MESSAGES`` newest messages, after the connection
is closed.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from livelihood_monitor import db
from livelihood_monitor.hot_issues import HotIssue, Message, find_place, group_hot_issues
from livelihood_monitor.privacy import mask_pii

SHANGHAI = ZoneInfo("Asia/Shanghai")
LOW_CONFIDENCE = 0.6  # below this a classifier's match goes to the triage queue
TRIAGE_KINDS = ("all", "none", "low", "unclassified")
EXPORT_MAX_ROWS = 100_000  # a CSV download is for reading in Excel, not a dump
# Hot issues are grouped in Python on every (uncached) page run, pairwise within each project
# and place, so the work is bounded: the newest ISSUE_MESSAGES messages, at most
# ISSUE_BUCKET_MAX of them per project and place, words from the first ISSUE_TEXT_CHARS
# characters (the subject; long details only dilute the likeness and cost time).
ISSUE_MESSAGES = 2_000
ISSUE_BUCKET_MAX = 300
ISSUE_TEXT_CHARS = 100
HOT_ISSUES_SHOWN = 10
REPLY_EXCERPT_CHARS = 200


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


def overview_page(warehouse: Path, year: int, as_of: date) -> pd.DataFrame:
    """``overview_at`` plus each project's 满意度 (``satisfaction``, mean score 0-100) and number
    of ``ratings`` (both missing for a project without ratings), read on one connection."""
    with db.read_connection(warehouse) as con:
        frame = _run(con, "dash_overview.sql", {"year": year, "as_of": as_of})
        scores = _run(con, "dash_satisfaction_scores.sql", {"year": year})
    if scores.empty:
        scores = pd.DataFrame({"code": pd.Series(dtype=object), "ratings": [], "satisfaction": []})
    return frame.merge(scores, on="code", how="left")


# --- hot issues (项目详情 and 民情) -----------------------------------------------------------

_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_TERM_SPLIT = re.compile(r"[;；,，、|\s]+")
COMMON_BIGRAM_SHARE = 0.5  # a bigram in more than this share of a project's messages says nothing
COMMON_BIGRAM_MIN_MESSAGES = 10  # below this many messages every bigram is kept


@dataclass(frozen=True)
class IssueMessage:
    """One message as the hot-issue queries return it (dash_*_issue_messages.sql)."""

    feedback_id: int
    text: str  # normalised and PII-masked
    submitted_at: datetime | None
    likes: int
    district: str | None
    observation_point: str | None
    project_code: str | None
    matched_terms: str | None


@dataclass(frozen=True)
class IssueGroups:
    top: list[HotIssue]  # the hottest issues, hottest first
    messages: int  # how many messages were grouped


def cjk_bigrams(text: str) -> set[str]:
    """Every pair of adjacent CJK characters (``"电梯停工"`` → 电梯, 梯停, 停工)."""
    grams: set[str] = set()
    for run in _CJK_RUN.findall(text):
        grams.update(run[i : i + 2] for i in range(len(run) - 1))
    return grams


def issue_words(messages: Sequence[IssueMessage]) -> list[frozenset[str]]:
    """What each message says, for grouping: its matched terms plus the CJK bigrams of its
    text's first ``ISSUE_TEXT_CHARS`` characters, less the bigrams found in most messages of the
    same project (电梯 in every message about lifts tells them apart no better than 希望) and
    those inside its terms (加装电梯 counts once, not again as 加装, 装电, 电梯)."""
    terms = [frozenset(t for t in _TERM_SPLIT.split(m.matched_terms or "") if t) for m in messages]
    grams = [
        cjk_bigrams(m.text[:ISSUE_TEXT_CHARS]) - {g for t in own for g in cjk_bigrams(t)}
        for m, own in zip(messages, terms, strict=True)
    ]
    members: dict[str | None, list[int]] = defaultdict(list)
    for i, message in enumerate(messages):
        members[message.project_code].append(i)
    common: dict[str | None, set[str]] = {}
    for project, idx in members.items():
        if len(idx) < COMMON_BIGRAM_MIN_MESSAGES:
            common[project] = set()
            continue
        seen = Counter(g for i in idx for g in grams[i])
        most = len(idx) * COMMON_BIGRAM_SHARE
        common[project] = {g for g, n in seen.items() if n > most}
    return [
        own | (grams[i] - common[m.project_code])
        for i, (m, own) in enumerate(zip(messages, terms, strict=True))
    ]


def issue_place(message: IssueMessage) -> str | None:
    """Where a message is about: its district, else its observation point, else a place named
    in its text (``hot_issues.find_place``)."""
    return message.district or message.observation_point or find_place(message.text)


def group_issues(
    messages: Sequence[IssueMessage], *, top: int = HOT_ISSUES_SHOWN, now: datetime | None = None
) -> IssueGroups:
    """The ``top`` hottest issues (``hot_issues.group_hot_issues``) among ``messages``:
    near-duplicates about the same project and place grouped. Only the newest
    ``ISSUE_BUCKET_MAX`` messages of each project and place take part; they are grouped oldest
    first, so each issue's sample is its first report."""
    newest_first = sorted(
        messages,
        key=lambda m: (m.submitted_at is not None, m.submitted_at or datetime.min, m.feedback_id),
        reverse=True,
    )
    taken: Counter[tuple[str | None, str | None]] = Counter()
    kept: list[tuple[IssueMessage, str | None]] = []
    for message in newest_first:
        place = issue_place(message)
        if taken[(message.project_code, place)] < ISSUE_BUCKET_MAX:
            taken[(message.project_code, place)] += 1
            kept.append((message, place))
    kept.reverse()
    words = issue_words([m for m, _ in kept])
    issues = group_hot_issues(
        (
            Message(
                id=str(m.feedback_id),
                project=m.project_code,
                words=w,
                text=m.text,
                submitted_at=m.submitted_at,
                likes=int(m.likes or 0),
                place=place,
            )
            for (m, place), w in zip(kept, words, strict=True)
        ),
        now=now,
    )
    return IssueGroups(issues[:top], len(kept))


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
class Satisfaction:
    """A project's 满意度测评: 满意 = 100, 基本满意 = 60, 不满意 = 0, the mean."""

    ratings: int
    score: float | None  # None without ratings
    by_kind: pd.DataFrame  # rater_kind (resident | deputy), ratings, score, satisfied, ...
    counts: dict[str, int]  # rating (满意 | 基本满意 | 不满意) -> ratings

    def kind_score(self, kind: str) -> float | None:
        """The mean score given by ``kind`` (resident | deputy), None when they gave none."""
        if self.by_kind.empty:
            return None
        rows = self.by_kind[self.by_kind["rater_kind"] == kind]
        return None if rows.empty else float(rows["score"].iloc[0])


def _satisfaction(con: db.Connection, year: int, code: str) -> Satisfaction:
    frame = _run(con, "dash_project_satisfaction.sql", {"year": year, "code": code})
    total = frame[frame["is_total"].astype(bool)]
    ratings = int(total["ratings"].iloc[0]) if not total.empty else 0
    if ratings == 0:
        return Satisfaction(0, None, frame.iloc[0:0], {})
    row = total.iloc[0]
    counts = {
        "满意": int(row["satisfied"]),
        "基本满意": int(row["basically_satisfied"]),
        "不满意": int(row["dissatisfied"]),
    }
    by_kind = frame[~frame["is_total"].astype(bool)].reset_index(drop=True)
    return Satisfaction(ratings, float(row["score"]), by_kind, counts)


def project_satisfaction(warehouse: Path, year: int, code: str) -> Satisfaction:
    with db.read_connection(warehouse) as con:
        return _satisfaction(con, year, code)


@dataclass(frozen=True)
class ProjectDetail:
    reports: pd.DataFrame
    plan: pd.DataFrame
    history: pd.DataFrame
    feedback_summary: pd.DataFrame
    feedback: pd.DataFrame
    letters: pd.DataFrame
    issues: IssueGroups  # of the project's newest messages of the year
    satisfaction: Satisfaction


def _project_issue_messages(con: db.Connection, code: str) -> list[IssueMessage]:
    """The newest ``ISSUE_MESSAGES`` of the connection's ``project_messages``."""
    rows = con.execute(
        db.load_sql("queries/dash_project_issue_messages.sql"),
        {"code": code, "limit": ISSUE_MESSAGES},
    ).fetchall()
    return [IssueMessage(*row) for row in rows]


def project_hot_issues(
    warehouse: Path, year: int, code: str, top: int = HOT_ISSUES_SHOWN
) -> IssueGroups:
    """The hottest issues among a project's newest ``ISSUE_MESSAGES`` messages of ``year``."""
    with db.read_connection(warehouse) as con:
        _project_messages(con, year, code)
        messages = _project_issue_messages(con, code)
    return group_issues(messages, top=top)


def project_page(
    warehouse: Path, year: int, code: str, unit: str, limit: int = 30
) -> ProjectDetail:
    """Everything 项目详情 shows about one project, read on one connection."""
    key = {"year": year, "code": code}
    with db.read_connection(warehouse) as con:
        _project_messages(con, year, code)  # read once: the summary, the list, the hot issues
        reports = _run(con, "dash_project_reports.sql", key)
        plan = _run(con, "dash_project_plan.sql", key)
        history = _run(con, "dash_project_status_history.sql", key)
        summary = _run(con, "dash_project_feedback_summary.sql", {"terms": 10})
        feedback = _run(con, "dash_project_feedback.sql", {"limit": limit})
        letters = _run(con, "dash_unit_letters.sql", {"year": year, "unit": unit})
        messages = _project_issue_messages(con, code)
        satisfaction = _satisfaction(con, year, code)
    # Grouping is plain Python: done after the connection is closed, so no writer waits on it.
    return ProjectDetail(
        reports=reports,
        plan=plan,
        history=history,
        feedback_summary=summary,
        feedback=feedback,
        letters=letters,
        issues=group_issues(messages, top=HOT_ISSUES_SHOWN),
        satisfaction=satisfaction,
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


def _window_issue_messages(con: db.Connection) -> list[IssueMessage]:
    """The newest ``ISSUE_MESSAGES`` about any project among the connection's window tables."""
    rows = con.execute(
        db.load_sql("queries/dash_window_issue_messages.sql"), {"limit": ISSUE_MESSAGES}
    ).fetchall()
    return [IssueMessage(*row) for row in rows]


def window_hot_issues(
    warehouse: Path,
    year: int,
    start: datetime,
    end: datetime,
    top: int = HOT_ISSUES_SHOWN,
) -> IssueGroups:
    """The hottest issues among the newest ``ISSUE_MESSAGES`` messages received in [start, end)
    about any of ``year``'s projects."""
    with db.read_connection(warehouse) as con:
        _window(con, year, start, end)
        messages = _window_issue_messages(con)
    return group_issues(messages, top=top)


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
    issues: IssueGroups  # window_hot_issues


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
    the hot terms, the hot issues and the triage queue."""
    start, end = year_bounds(year)
    with db.read_connection(warehouse) as con:
        # One pass over the year gives the charts, the message count and the latest message.
        breakdown = _run(con, "dash_feedback_breakdown.sql", {"start": start, "end": end})
        total = breakdown[breakdown["dim"] == "total"]
        messages = int(total["n"].iloc[0]) if not total.empty else 0
        if messages == 0:
            empty = pd.DataFrame()
            none = IssueGroups([], 0)
            return OpinionOverview(0, None, start, end, empty, empty, TriageQueue({}, empty), none)
        latest = total["latest"].iloc[0].to_pydatetime()
        w_start, w_end = feedback_window(latest, now or datetime.now(SHANGHAI), days, year)
        _window(con, year, w_start, w_end)
        hot = _run(con, "dash_hot_issues.sql", {"limit": 10})
        queue = _triage(con, year, threshold, kind, limit)
        issue_messages = _window_issue_messages(con)
    issues = group_issues(issue_messages, top=HOT_ISSUES_SHOWN)
    return OpinionOverview(messages, latest, w_start, w_end, breakdown, hot, queue, issues)


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


def reply_excerpt(text: str, chars: int = REPLY_EXCERPT_CHARS) -> tuple[str, bool]:
    """The first ``chars`` characters of a reply, PII-masked first (so a cut never leaves part of
    a phone number unmasked), and whether there is more."""
    masked = mask_pii(text).strip()
    return masked[:chars], len(masked) > chars


@dataclass(frozen=True)
class LettersOverview:
    counts: dict[str, int]  # status -> letters of the year
    register: pd.DataFrame  # the chosen statuses, newest first
    # Replies to the year's letters, oldest first: letter_no, via_letter_no, received_on,
    # file_name, recorded_by, recorded, excerpt (masked, the first REPLY_EXCERPT_CHARS
    # characters), truncated (there is more), chars (of the whole text)
    replies: pd.DataFrame
    events: pd.DataFrame  # the year's letters' audit trail, oldest first

    def replies_to(self, letter_no: str) -> pd.DataFrame:
        """Replies answering ``letter_no`` or recorded against it (a 催办函's)."""
        if self.replies.empty:
            return self.replies
        hit = (self.replies["letter_no"] == letter_no) | (
            self.replies["via_letter_no"] == letter_no
        )
        return self.replies[hit].reset_index(drop=True)

    def events_of(self, letter_no: str) -> pd.DataFrame:
        if self.events.empty:
            return self.events
        return self.events[self.events["letter_no"] == letter_no].reset_index(drop=True)


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
        replies = _run(con, "dash_letter_replies.sql", {"year": year})
        events = _run(con, "dash_letter_events.sql", {"year": year})
    cut = [reply_excerpt(str(text)) for text in replies["text"]]
    replies["excerpt"] = [excerpt for excerpt, _ in cut]
    replies["truncated"] = [more for _, more in cut]
    replies["chars"] = [len(str(text)) for text in replies["text"]]
    replies = replies.drop(columns=["text"])  # the whole text, unmasked, stays here
    return LettersOverview(
        {str(s): int(n) for s, n in zip(counts["status"], counts["n"], strict=True)},
        register,
        replies,
        events,
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


# The rejected rows' columns as operators read them (dashboard table and CSV download alike).
REJECTED_ROW_HEADERS = {
    "run_id": "导入批次",
    "source": "来源",
    "file": "文件",
    "row_number": "行号",
    "reason": "原因",
    "raw": "原始内容",
    "rejected": "拒收时间",
}


def rejected_rows_csv(warehouse: Path, run_id: str | None = None) -> bytes:
    """The rejected rows (at most ``EXPORT_MAX_ROWS``) as a formula-escaped CSV, Chinese headers."""
    frame = rejected_rows(warehouse, run_id, EXPORT_MAX_ROWS)
    return csv_bytes(frame.rename(columns=REJECTED_ROW_HEADERS))
