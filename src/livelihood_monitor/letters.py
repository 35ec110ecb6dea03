"""The letters register: drafting, numbering, follow-up and closing the loop with residents.

Plain functions over a caller's connection (``db`` is the only module that opens one):

* drafting — ``plan_reminder_letters`` / ``plan_feedback_letters`` / ``plan_urge_letters`` decide
  what to write (with the "never send the same thing twice" rules), ``save_drafts`` numbers and
  registers them, ``render_drafts`` writes the .docx (and PDF) files without touching the
  warehouse, ``save_rendered`` records the paths. ``draft_reminder_letters`` /
  ``draft_feedback_letters`` / ``draft_urge_letters`` chain them on one connection;
  ``supervision`` chains them with short transactions on a warehouse file.
* the register — ``issue_letter``, ``record_reply``, ``mark_overdue``, ``close_letter``,
  ``delete_draft``: ``draft → issued → replied → closed`` and ``issued → overdue → replied``;
  every change writes ``letter_events`` (who, when, from, to).
* closing the loop — ``pending_result_pushes`` / ``push_result`` / ``save_push_outcomes`` push
  the unit's answer to the 民意直通车 API for the residents' items a letter forwarded;
  ``import_satisfaction`` and ``satisfaction_scores`` for 满意度测评.

Document numbers come from ``letter_counters``, which only ever counts up: a deleted draft's
number is never given to another letter. Operator-facing text is Simplified Chinese.
"""

from __future__ import annotations

import getpass
import hashlib
import re
import shutil
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import quote

import requests

from livelihood_monitor import db
from livelihood_monitor import status as status_engine
from livelihood_monitor.config import Settings
from livelihood_monitor.db import Connection
from livelihood_monitor.letters_render import (
    DEFAULT_AGENCY,
    DEFAULT_REPLY_TO,
    LaggingProject,
    LetterContent,
    Paragraph,
    ProblemGroup,
    ProjectProblems,
    Quote,
    convert_to_pdf,
    feedback_letter_content,
    format_date_cn,
    format_letter_no,
    parse_letter_no,
    reminder_letter_content,
    render_letter,
)
from livelihood_monitor.privacy import mask_pii
from livelihood_monitor.tabular import FileUnreadable, read_sheets
from livelihood_monitor.values import SHANGHAI, clean, parse_date
from livelihood_monitor.workdays import add_working_days

__all__ = [
    "KIND_LABELS",
    "RATING_SCORES",
    "STATUS_LABELS",
    "Draft",
    "DraftOptions",
    "DraftRun",
    "LetterError",
    "LetterEvent",
    "LetterPlan",
    "LetterRecord",
    "OverdueLetter",
    "PlanResult",
    "PlannedItem",
    "ProjectSatisfaction",
    "PushItem",
    "PushOutcome",
    "PushPolicy",
    "RenderedLetter",
    "ReplyResult",
    "SatisfactionImport",
    "close_letter",
    "default_actor",
    "delete_draft",
    "draft_feedback_letters",
    "draft_reminder_letters",
    "draft_urge_letters",
    "ensure_status",
    "get_letter",
    "import_satisfaction",
    "issue_letter",
    "letter_history",
    "list_letters",
    "mark_overdue",
    "next_serial",
    "pending_result_pushes",
    "plan_feedback_letters",
    "plan_reminder_letters",
    "plan_urge_letters",
    "push_result",
    "read_reply_text",
    "read_satisfaction_file",
    "record_reply",
    "render_drafts",
    "resolve_letter_no",
    "satisfaction_scores",
    "save_drafts",
    "save_push_outcomes",
    "save_rendered",
    "save_reply",
    "save_satisfaction",
    "sha256_file",
    "today_shanghai",
]

Kind = Literal["reminder_letter", "feedback_letter", "urge_letter"]
LetterStatus = Literal["draft", "issued", "replied", "closed", "overdue"]

KIND_LABELS: Final[dict[str, str]] = {
    "reminder_letter": "进度提醒函",
    "feedback_letter": "意见反馈函",
    "urge_letter": "催办函",
}
STATUS_LABELS: Final[dict[str, str]] = {
    "draft": "草稿",
    "issued": "已发出",
    "replied": "已回复",
    "closed": "已办结",
    "overdue": "逾期未复",
}
# How bad a lagging status is, to tell whether a project got worse since it was reminded. A unit
# that stops reporting (missing) is worse than one slightly behind, and better than one far behind.
LAG_SEVERITY: Final[dict[str, int]] = {"behind": 1, "missing": 2, "seriously_behind": 3}
LAG_LABELS: Final[dict[str, str]] = {
    "behind": "滞后",
    "missing": "未填报",
    "seriously_behind": "严重滞后",
}
DEFAULT_REPLY_DAYS: Final = 10
DEFAULT_URGE_DAYS: Final = 5
OTHER_PROBLEM: Final = "其他"
_QUOTES_PER_PROBLEM: Final = 3  # candidates; the renderer prints at most two
_EXCERPT_MAX: Final = 1000
_PUSH_TEXT_MAX: Final = 500
_TERM_SPLIT: Final = re.compile(r"[;；,，、|\s]+")


class LetterError(Exception):
    """A register operation was refused; the message says why, in Chinese, for an operator."""


def today_shanghai() -> date:
    return datetime.now(SHANGHAI).date()


def default_actor() -> str:
    """The OS user running the command: the audit trail's "who" when nobody says otherwise."""
    try:
        return getpass.getuser() or "unknown"
    except (KeyError, OSError):  # e.g. a container user without a passwd entry
        return "unknown"


def _q(name: str) -> str:
    return db.load_sql(f"queries/{name}.sql")


def _executemany(con: Connection, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    # DuckDB refuses executemany with no parameter sets.
    if rows:
        con.executemany(sql, rows)


# --- records ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LetterRecord:
    letter_no: str
    year: int
    serial: int
    kind: str
    unit: str
    status: str
    letter_date: date | None
    issued_on: date | None
    due_on: date | None
    refers_to: str | None
    title: str | None
    path_docx: str | None
    path_pdf: str | None
    due_note: str | None
    as_of: date | None

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    def days_overdue(self, today: date) -> int:
        """Calendar days past the reply deadline (0 when not past it or nothing is awaited)."""
        if self.due_on is None or self.status not in ("issued", "overdue"):
            return 0
        return max(0, (today - self.due_on).days)


@dataclass(frozen=True)
class LetterEvent:
    letter_no: str
    at: datetime
    actor: str
    action: str
    from_status: str | None
    to_status: str | None
    note: str | None


def list_letters(
    con: Connection, status: str | None = None, year: int | None = None
) -> list[LetterRecord]:
    """The register, newest first, optionally one status or one year."""
    rows = con.execute(_q("letters_list"), {"status": status, "year": year}).fetchall()
    return [LetterRecord(*row) for row in rows]


def get_letter(con: Connection, letter_no: str) -> LetterRecord:
    rows = con.execute(_q("letters_get"), {"letter_no": letter_no}).fetchall()
    if not rows:
        raise LetterError(f"登记簿中没有函件 {letter_no}；可用 `letters list` 查看已有文号。")
    return LetterRecord(*rows[0])


_LOOSE_NO = re.compile(r"(\d{4})\D+?(\d{1,5})\D*$")


def resolve_letter_no(con: Connection, text: str) -> str:
    """The stored number an operator means: exact, or by year and serial whatever the brackets
    (``扬人常民函[2025]12号``, ``2025-12``), since 〔〕 are hard to type."""
    wanted = text.strip()
    row = con.execute("SELECT letter_no FROM letters WHERE letter_no = ?", [wanted]).fetchone()
    if row:
        return str(row[0])
    try:
        _, year, serial = parse_letter_no(wanted)
    except ValueError:
        match = _LOOSE_NO.search(wanted)
        if match is None:
            raise LetterError(
                f"无法识别文号“{wanted}”：请写成 扬人常民函〔2025〕12号 或 2025-12。"
            ) from None
        year, serial = int(match.group(1)), int(match.group(2))
    row = con.execute(
        "SELECT letter_no FROM letters WHERE year = ? AND serial = ?", [year, serial]
    ).fetchone()
    if row is None:
        raise LetterError(f"登记簿中没有 {year} 年第 {serial} 号函件（{wanted}）。")
    return str(row[0])


def letter_history(con: Connection, letter_no: str) -> list[LetterEvent]:
    """The audit trail of one letter, oldest first (kept even after a draft is deleted)."""
    rows = con.execute(
        'SELECT letter_no, "at", actor, action, from_status, to_status, note FROM letter_events '
        'WHERE letter_no = ? ORDER BY "at", event_id',
        [letter_no],
    ).fetchall()
    return [LetterEvent(*row) for row in rows]


def _event(
    con: Connection,
    letter_no: str,
    action: str,
    actor: str,
    from_status: str | None,
    to_status: str | None,
    note: str | None = None,
) -> None:
    con.execute(
        'INSERT INTO letter_events (letter_no, "at", actor, action, from_status, to_status, note) '
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [letter_no, datetime.now(SHANGHAI), actor, action, from_status, to_status, note],
    )


def _set_status(
    con: Connection,
    letter: LetterRecord,
    to_status: LetterStatus,
    action: str,
    actor: str,
    note: str | None = None,
    issued_on: date | None = None,
) -> None:
    con.execute(
        "UPDATE letters SET status = ?, issued_on = coalesce(?, issued_on), updated_at = ? "
        "WHERE letter_no = ?",
        [to_status, issued_on, datetime.now(SHANGHAI), letter.letter_no],
    )
    _event(con, letter.letter_no, action, actor, letter.status, to_status, note)


# --- numbering --------------------------------------------------------------------------------


def next_serial(con: Connection, year: int) -> int:
    """The next document serial of ``year``; never one used before, even by a deleted draft.

    The counter also stays above any serial already in ``letters`` (rows written before the
    counter existed, or by other tools), so a number can never collide.
    """
    row = con.execute(
        "SELECT coalesce(max(serial), 0) FROM letters WHERE year = ?", [year]
    ).fetchone()
    floor = int(row[0]) if row else 0
    result = con.execute(
        "INSERT INTO letter_counters (year, last_serial) VALUES ($year, $floor + 1) "
        "ON CONFLICT (year) DO UPDATE SET "
        "last_serial = greatest(letter_counters.last_serial, $floor) + 1, "
        "updated_at = now() "
        "RETURNING last_serial",
        {"year": year, "floor": floor},
    ).fetchone()
    assert result is not None
    return int(result[0])


# --- plans ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedItem:
    """One thing a letter asks about: a lagging project, or one problem residents raised."""

    year: int
    project_code: str
    problem_key: str | None = None
    problem_label: str | None = None
    feedback_ids: tuple[int, ...] = ()
    status_at_letter: str | None = None
    expected_pct: float | None = None
    reported_pct: float | None = None


@dataclass(frozen=True)
class UrgedLetter:
    """What a 催办函 says about the letter it chases."""

    letter_no: str
    kind: str
    title: str
    sent_on: date | None
    due_on: date
    project_codes: tuple[str, ...]
    project_names: tuple[str, ...]
    feedback_count: int


@dataclass(frozen=True)
class LetterPlan:
    """A letter decided on but not yet numbered; everything the content builders need."""

    kind: Kind
    unit: str
    as_of: date
    items: tuple[PlannedItem, ...]
    lagging: tuple[LaggingProject, ...] = ()
    problems: tuple[ProjectProblems, ...] = ()
    # Submitters' names to strip from quotes; used for rendering only, never stored.
    names: tuple[str, ...] = ()
    period: tuple[date, date] | None = None
    urged: UrgedLetter | None = None


@dataclass
class PlanResult:
    plans: list[LetterPlan] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # Chinese: what was left out, and why


def ensure_status(
    con: Connection, year: int, as_of: date, settings: Settings | None = None
) -> bool:
    """Compute ``project_status`` for ``as_of`` unless it is stored; True when it was computed."""
    row = con.execute(
        "SELECT count(*) FROM project_status WHERE year = ? AND as_of = ?", [year, as_of]
    ).fetchone()
    if row and row[0]:
        return False
    thresholds, checkpoints = status_engine.status_config(settings or Settings())
    status_engine.compute_status(con, year, as_of, thresholds=thresholds, checkpoints=checkpoints)
    return True


def _month_bounds(day: date) -> tuple[date, date]:
    start = day.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end


def plan_reminder_letters(
    con: Connection, year: int, as_of: date, *, letter_date: date | None = None
) -> PlanResult:
    """One 进度提醒函 per unit with projects behind/seriously_behind/missing at ``as_of``.

    Reads the stored ``project_status`` of ``as_of`` (see ``ensure_status``). A project already
    reminded in the letter date's month is left out unless its status got worse since.
    """
    result = PlanResult()
    month_start, month_end = _month_bounds(letter_date or as_of)
    earlier: dict[str, tuple[int, str, str]] = {}  # code -> worst (severity, status, letter_no)
    for code, status, letter_no in con.execute(
        _q("letters_reminded_in_month"),
        {"year": year, "month_start": month_start, "month_end": month_end},
    ).fetchall():
        severity = LAG_SEVERITY.get(status or "", 0)
        if code not in earlier or severity > earlier[code][0]:
            earlier[code] = (severity, status, letter_no)
    by_unit: dict[str, list[tuple[LaggingProject, PlannedItem]]] = {}
    for code, name, target, unit, status, expected, reported, report_date in con.execute(
        _q("letters_lagging"), {"year": year, "as_of": as_of}
    ).fetchall():
        before = earlier.get(code)
        if before is not None and LAG_SEVERITY[status] <= before[0]:
            result.notes.append(
                f"{unit}：{code} {name} 本月已在{before[2]}中提醒（当时{LAG_LABELS.get(before[1], before[1])}，"
                f"现在{LAG_LABELS[status]}），状态未恶化，不再重复提醒。"
            )
            continue
        project = LaggingProject(code, name, target, status, expected, reported, report_date)
        item = PlannedItem(
            year=year,
            project_code=code,
            status_at_letter=status,
            expected_pct=expected,
            reported_pct=reported,
        )
        by_unit.setdefault(unit, []).append((project, item))
    for unit, pairs in by_unit.items():
        # Items in the order the letter's table lists them: worst first.
        pairs.sort(key=lambda pair: (-LAG_SEVERITY[pair[0].status], pair[0].code))
        result.plans.append(
            LetterPlan(
                kind="reminder_letter",
                unit=unit,
                as_of=as_of,
                items=tuple(item for _, item in pairs),
                lagging=tuple(project for project, _ in pairs),
            )
        )
    return result


def _split_terms(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        raw = [str(v) for v in value]
    else:
        raw = _TERM_SPLIT.split(str(value))
    return tuple(dict.fromkeys(t.strip() for t in raw if t and t.strip()))


def problem_label(key: str) -> str:
    """How a problem key reads as a heading of a 意见反馈函."""
    return "其他问题" if key == OTHER_PROBLEM else f"“{key}”相关问题"


@dataclass(frozen=True)
class _Candidate:
    feedback_id: int
    code: str
    name: str
    unit: str
    terms: tuple[str, ...]
    message_type: str | None
    text: str
    submitter: str | None
    submitted_on: date
    likes: int


def _quote_rank(item: _Candidate) -> tuple[int, int, int, int]:
    # Complaints say the problem best; then what other residents endorsed; then a text long
    # enough to say something but short enough to quote whole.
    return (
        0 if item.message_type == "complaint" else 1,
        -item.likes,
        abs(len(item.text) - 40),
        item.feedback_id,
    )


def plan_feedback_letters(
    con: Connection,
    year: int,
    as_of: date,
    *,
    skip_units_with_draft: bool = True,
) -> PlanResult:
    """One 意见反馈函 per unit: residents' problems per project, hot ones first.

    Messages count for their rank-1 project (manual beats auto) and only if no letter forwarded
    them before. A problem is the message's most frequent matched term within its project (a
    simple problem key for now; messages without terms are 其他). A message touching a problem
    that is in an open letter (draft, issued, overdue) is held back: the unit has it already.
    With ``skip_units_with_draft`` a unit whose earlier draft is still unissued gets no second
    one (issue or delete the draft first), so a daily run does not pile up drafts.
    """
    result = PlanResult()
    open_problems: dict[tuple[str, str], str] = {}
    for code, key, letter_no in con.execute(_q("letters_open_problems"), {"year": year}).fetchall():
        open_problems.setdefault((code, key), letter_no)
    pending: dict[str, str] = {}
    if skip_units_with_draft:
        for unit, letter_no in con.execute(
            "SELECT unit, min(letter_no) FROM letters "
            "WHERE kind = 'feedback_letter' AND status = 'draft' GROUP BY unit"
        ).fetchall():
            pending[unit] = letter_no
    rows = con.execute(_q("letters_feedback_candidates"), {"year": year, "as_of": as_of}).fetchall()
    candidates = [
        _Candidate(fid, code, name, unit, _split_terms(terms), mtype, text or "", who, day, likes)
        for fid, code, name, unit, terms, mtype, text, who, day, likes, _channel in rows
    ]
    # Every submitter of the run is stripped from every quote: a resident may name a neighbour
    # who wrote in too.
    names = tuple(sorted({c.submitter.strip() for c in candidates if c.submitter}))
    by_unit: dict[str, dict[str, list[_Candidate]]] = {}
    for c in candidates:
        by_unit.setdefault(c.unit, {}).setdefault(c.code, []).append(c)
    for unit, projects in by_unit.items():
        if unit in pending:
            count = sum(len(v) for v in projects.values())
            result.notes.append(
                f"{unit}：尚有未发出的意见反馈函草稿 {pending[unit]}，新收到的 {count} 条群众意见"
                "待该草稿发出或删除后再起草。"
            )
            continue
        project_blocks: list[tuple[ProjectProblems, list[PlannedItem]]] = []
        used: list[_Candidate] = []
        for code, items in projects.items():
            freq = Counter(t for c in items for t in c.terms)
            groups: dict[str, list[_Candidate]] = {}
            held: dict[tuple[str, str], int] = {}
            for c in items:
                keys = c.terms or (OTHER_PROBLEM,)
                in_open = next((k for k in keys if (code, k) in open_problems), None)
                if in_open is not None:
                    held[(in_open, open_problems[(code, in_open)])] = (
                        held.get((in_open, open_problems[(code, in_open)]), 0) + 1
                    )
                    continue
                key = min(keys, key=lambda k: (-freq[k], keys.index(k)))
                groups.setdefault(key, []).append(c)
            for (key, letter_no), n in held.items():
                result.notes.append(
                    f"{unit}：{code} {items[0].name} 的{problem_label(key)}已在{letter_no}中转交且尚未"
                    f"办结，新收到的 {n} 条暂不重复转交。"
                )
            if not groups:
                continue
            ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
            problem_groups: list[ProblemGroup] = []
            planned: list[PlannedItem] = []
            for key, members in ordered:
                quotes = tuple(
                    Quote(m.text, m.submitter)
                    for m in sorted(members, key=_quote_rank)[:_QUOTES_PER_PROBLEM]
                )
                ids = tuple(sorted(m.feedback_id for m in members))
                problem_groups.append(
                    ProblemGroup(problem_label(key), len(members), quotes, tuple(map(str, ids)))
                )
                planned.append(
                    PlannedItem(
                        year=year,
                        project_code=code,
                        problem_key=key,
                        problem_label=problem_label(key),
                        feedback_ids=ids,
                    )
                )
                used.extend(members)
            project_blocks.append(
                (ProjectProblems(code, items[0].name, tuple(problem_groups)), planned)
            )
        if not project_blocks:
            continue
        # The renderer lists projects by message count: keep the items in the same order.
        project_blocks.sort(key=lambda pb: (-pb[0].message_count, pb[0].code))
        days = [c.submitted_on for c in used]
        result.plans.append(
            LetterPlan(
                kind="feedback_letter",
                unit=unit,
                as_of=as_of,
                items=tuple(item for _, planned in project_blocks for item in planned),
                problems=tuple(block for block, _ in project_blocks),
                names=names,
                period=(min(days), max(days)),
            )
        )
    return result


# --- options, drafts, files -------------------------------------------------------------------


@dataclass(frozen=True)
class DraftOptions:
    """How letters are written; ``options_from_settings`` reads ``[livelihood_monitor.letters]``."""

    letter_date: date | None = None  # default: the as-of date (urge letters: today)
    reply_days: int = DEFAULT_REPLY_DAYS
    urge_days: int = DEFAULT_URGE_DAYS
    actor: str | None = None
    agency: str = DEFAULT_AGENCY
    reply_to: str = DEFAULT_REPLY_TO
    contact_line: str | None = None
    pdf: bool = True

    @property
    def who(self) -> str:
        return self.actor or default_actor()


def options_from_settings(settings: Settings, **overrides: Any) -> DraftOptions:
    """Agency, contact line and deadlines from the settings file, then explicit overrides."""
    raw = settings.extra.get("letters", {})
    values: dict[str, Any] = {}
    if isinstance(raw, dict):
        for key in ("agency", "reply_to", "contact_line"):
            if isinstance(raw.get(key), str) and raw[key].strip():
                values[key] = raw[key].strip()
        for key in ("reply_days", "urge_days"):
            if isinstance(raw.get(key), int) and not isinstance(raw.get(key), bool):
                values[key] = raw[key]
    values.update({k: v for k, v in overrides.items() if v is not None})
    return DraftOptions(**values)


@dataclass(frozen=True)
class Draft:
    letter_no: str
    plan: LetterPlan
    content: LetterContent
    letter_date: date
    due: date
    due_note: str | None

    @property
    def file_stem(self) -> str:
        return letter_file_stem(self.letter_no, self.plan.kind, self.plan.unit)


@dataclass(frozen=True)
class RenderedLetter:
    letter_no: str
    kind: str
    unit: str
    due: date
    due_note: str | None
    docx: Path
    pdf: Path | None
    pdf_note: str | None  # why there is no PDF (Chinese), None when there is one
    item_count: int


@dataclass
class DraftRun:
    letters: list[RenderedLetter] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    status_computed: bool = False

    def lines(self) -> list[str]:
        """What an operator reads after a run."""
        out: list[str] = []
        for r in self.letters:
            what = "个项目" if r.kind == "reminder_letter" else "项"
            out.append(
                f"已起草{KIND_LABELS[r.kind]} {r.letter_no} → {r.unit}（{r.item_count}{what}），"
                f"答复期限 {format_date_cn(r.due)}：{r.docx}"
            )
            if r.due_note:
                out.append(f"  注意：{r.due_note}")
            out.append(f"  PDF：{r.pdf}" if r.pdf else f"  未生成 PDF：{r.pdf_note}")
        out.extend(f"未起草：{n}" for n in self.notes)
        if not self.letters:
            out.append("没有需要起草的函件。")
        return out


_UNSAFE_FILE_CHARS = re.compile(r'[\\/:*?"<>|\s]+')


def letter_file_stem(letter_no: str, kind: str, unit: str) -> str:
    """``扬人常民函〔2025〕12号_进度提醒函_市教育局``: the number first, so files sort by it."""
    parts = (letter_no, KIND_LABELS.get(kind, kind), unit)
    return "_".join(_UNSAFE_FILE_CHARS.sub("-", p.strip()) for p in parts)[:150]


def _names_cn(names: Sequence[str], limit: int = 3) -> str:
    shown = "、".join(f"“{n}”" for n in names[:limit])
    return shown + (f"等{len(names)}个" if len(names) > limit else "")


def urge_letter_content(
    unit: str,
    urged: UrgedLetter,
    today: date,
    due: date,
    *,
    letter_no: str,
    letter_date: date,
    agency: str = DEFAULT_AGENCY,
    reply_to: str = DEFAULT_REPLY_TO,
    contact_line: str | None = None,
    due_note: str | None = None,
) -> LetterContent:
    """催办函: the unit has not answered ``urged`` by its deadline."""
    sent = urged.sent_on or urged.due_on
    if urged.kind == "feedback_letter":
        what = (
            f"转交了群众反映的涉及{_names_cn(urged.project_names)}项目的问题"
            f"{urged.feedback_count}条"
        )
    else:
        what = f"提醒加快推进{_names_cn(urged.project_names)}民生实事项目"
    late = (today - urged.due_on).days
    blocks = (
        Paragraph(
            f"{format_date_cn(sent)}，{reply_to}以《{urged.title}》（{urged.letter_no}）向你单位"
            f"{what}，并请于{format_date_cn(urged.due_on)}前书面函复。截至"
            f"{format_date_cn(today)}，已超过答复期限{late}天，仍未收到你单位的书面答复。"
        ),
        Paragraph(
            "请你单位高度重视，抓紧办理，于"
            f"{format_date_cn(due)}前将办理情况书面函复{reply_to}；确有困难的，请说明原因及预计"
            f"办结时间。对逾期仍未答复的事项，{reply_to}将在“面对面”询问等监督活动中予以重点关注。"
        ),
        Paragraph("特此函告。"),
    )
    return LetterContent(
        kind="urge_letter",
        letter_no=letter_no,
        agency=agency,
        recipient=unit,
        title=f"关于{urged.letter_no}\n办理情况的催办函",
        blocks=blocks,
        date_cn=format_date_cn(letter_date),
        signature=agency,
        contact_line=contact_line,
        due=due,
        due_note=due_note,
        project_codes=urged.project_codes,
    )


def _build_content(
    plan: LetterPlan,
    letter_no: str,
    letter_date: date,
    due: date,
    due_note: str | None,
    options: DraftOptions,
) -> LetterContent:
    common: dict[str, Any] = {
        "letter_no": letter_no,
        "letter_date": letter_date,
        "agency": options.agency,
        "reply_to": options.reply_to,
        "contact_line": options.contact_line,
        "due_note": due_note,
    }
    if plan.kind == "reminder_letter":
        return reminder_letter_content(plan.unit, plan.lagging, plan.as_of, due, **common)
    if plan.kind == "feedback_letter":
        return feedback_letter_content(
            plan.unit, plan.problems, due, period=plan.period, names=plan.names, **common
        )
    assert plan.urged is not None
    return urge_letter_content(plan.unit, plan.urged, plan.as_of, due, **common)


def save_drafts(
    con: Connection,
    plans: Sequence[LetterPlan],
    *,
    settings: Settings,
    options: DraftOptions | None = None,
) -> list[Draft]:
    """Number each plan, build its content and register it as a draft (with its items and an
    audit event). Content is built before anything is written, so a bad plan stores nothing."""
    options = options or DraftOptions()
    actor = options.who
    drafts: list[Draft] = []
    for plan in plans:
        letter_date = options.letter_date or plan.as_of
        days = options.urge_days if plan.kind == "urge_letter" else options.reply_days
        deadline = add_working_days(letter_date, days)
        serial = next_serial(con, letter_date.year)
        letter_no = format_letter_no(settings.letter_prefix, letter_date.year, serial)
        content = _build_content(plan, letter_no, letter_date, deadline.due, deadline.note, options)
        now = datetime.now(SHANGHAI)
        con.execute(
            "INSERT INTO letters (letter_no, year, serial, kind, unit, due_on, status, letter_date, "
            "as_of, title, refers_to, due_note, body_text, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, 'draft', ?, ?, ?, ?, ?, ?, ?)",
            [
                letter_no,
                letter_date.year,
                serial,
                plan.kind,
                plan.unit,
                deadline.due,
                letter_date,
                plan.as_of,
                content.title_text,
                plan.urged.letter_no if plan.urged else None,
                deadline.note,
                content.plain_text(),
                now,
            ],
        )
        for position, item in enumerate(plan.items, start=1):
            row = con.execute(
                "INSERT INTO letter_items (letter_no, position, year, project_code, problem_key, "
                "problem_label, feedback_count, status_at_letter, expected_pct, reported_pct) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING item_id",
                [
                    letter_no,
                    position,
                    item.year,
                    item.project_code,
                    item.problem_key,
                    item.problem_label,
                    len(item.feedback_ids) if item.feedback_ids else None,
                    item.status_at_letter,
                    item.expected_pct,
                    item.reported_pct,
                ],
            ).fetchone()
            assert row is not None
            if item.feedback_ids:
                con.executemany(
                    "INSERT INTO letter_item_feedback (item_id, letter_no, feedback_id) "
                    "VALUES (?, ?, ?)",
                    [[row[0], letter_no, fid] for fid in item.feedback_ids],
                )
        note = f"答复期限 {deadline.due.isoformat()}（{days}个工作日）"
        if deadline.note:
            note += "；" + deadline.note
        _event(con, letter_no, "drafted", actor, None, "draft", note)
        if plan.urged is not None:
            _event(
                con, plan.urged.letter_no, "urged", actor, None, None, f"已起草催办函 {letter_no}"
            )
        drafts.append(Draft(letter_no, plan, content, letter_date, deadline.due, deadline.note))
    return drafts


def render_drafts(
    drafts: Sequence[Draft], out_dir: Path, *, pdf: bool = True
) -> list[RenderedLetter]:
    """Write each draft's .docx under ``out_dir`` and, when asked, PDFs beside them in one
    LibreOffice run. No warehouse access: this is the slow part, kept out of any transaction."""
    if not drafts:
        return []
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [render_letter(d.content, out_dir / f"{d.file_stem}.docx") for d in drafts]
    if pdf:
        pdf_results = convert_to_pdf(paths)
        pdfs = [(r.path, r.skipped_reason) for r in pdf_results]
    else:
        pdfs = [(None, "本次按要求不生成 PDF（--no-pdf）。") for _ in paths]
    return [
        RenderedLetter(
            d.letter_no,
            d.plan.kind,
            d.plan.unit,
            d.due,
            d.due_note,
            path,
            pdf_path,
            reason,
            len(d.plan.items),
        )
        for d, path, (pdf_path, reason) in zip(drafts, paths, pdfs, strict=True)
    ]


def save_rendered(con: Connection, rendered: Iterable[RenderedLetter]) -> None:
    _executemany(
        con,
        "UPDATE letters SET path_docx = ?, path_pdf = ?, updated_at = ? WHERE letter_no = ?",
        [
            [str(r.docx), str(r.pdf) if r.pdf else None, datetime.now(SHANGHAI), r.letter_no]
            for r in rendered
        ],
    )


def default_letters_dir(settings: Settings, year: int) -> Path:
    return settings.data_dir / "letters" / str(year)


def _draft_run(
    con: Connection,
    planned: PlanResult,
    out_dir: Path,
    settings: Settings,
    options: DraftOptions,
) -> DraftRun:
    drafts = save_drafts(con, planned.plans, settings=settings, options=options)
    rendered = render_drafts(drafts, out_dir, pdf=options.pdf)
    save_rendered(con, rendered)
    return DraftRun(rendered, planned.notes)


def draft_reminder_letters(
    con: Connection,
    year: int,
    as_of: date,
    out_dir: Path | None,
    settings: Settings,
    *,
    options: DraftOptions | None = None,
) -> DraftRun:
    """Draft one 进度提醒函 per unit with lagging projects at ``as_of``, on one connection.

    Status comes from ``project_status`` of ``as_of``, computed first when absent. Files go to
    ``out_dir`` (default ``<data_dir>/letters/<year>/``).
    """
    options = options or options_from_settings(settings)
    computed = ensure_status(con, year, as_of, settings)
    planned = plan_reminder_letters(con, year, as_of, letter_date=options.letter_date)
    run = _draft_run(
        con, planned, out_dir or default_letters_dir(settings, year), settings, options
    )
    run.status_computed = computed
    return run


def draft_feedback_letters(
    con: Connection,
    year: int,
    as_of: date,
    out_dir: Path | None,
    settings: Settings,
    *,
    options: DraftOptions | None = None,
    skip_units_with_draft: bool = True,
) -> DraftRun:
    """Draft one 意见反馈函 per unit with residents' problems not yet forwarded, on one connection."""
    options = options or options_from_settings(settings)
    planned = plan_feedback_letters(con, year, as_of, skip_units_with_draft=skip_units_with_draft)
    return _draft_run(
        con, planned, out_dir or default_letters_dir(settings, year), settings, options
    )


# --- the register -----------------------------------------------------------------------------


def _require(letter: LetterRecord, allowed: Sequence[str], doing: str) -> None:
    if letter.status not in allowed:
        wanted = "、".join(STATUS_LABELS[s] for s in allowed)
        raise LetterError(
            f"{letter.letter_no} 当前状态为“{letter.status_label}”，不能{doing}（仅限{wanted}的函件）。"
        )


def issue_letter(
    con: Connection,
    letter_no: str,
    *,
    issued_on: date | None = None,
    actor: str | None = None,
    note: str | None = None,
) -> LetterRecord:
    """draft → issued: the letter went out (on ``issued_on``, default today)."""
    letter = get_letter(con, resolve_letter_no(con, letter_no))
    _require(letter, ("draft",), "发出")
    if letter.refers_to:
        original = get_letter(con, letter.refers_to)
        if original.status in ("replied", "closed"):
            raise LetterError(
                f"{letter.letter_no} 催办的原函 {original.letter_no} 已{original.status_label}，"
                "无需再发催办函；可用 `letters discard` 删除此草稿。"
            )
    day = issued_on or today_shanghai()
    remarks = [note] if note else []
    if letter.letter_date and day > letter.letter_date:
        remarks.append(f"发出日期晚于落款日期 {letter.letter_date.isoformat()}")
    if letter.due_on and day > letter.due_on:
        raise LetterError(
            f"{letter.letter_no} 的答复期限 {letter.due_on.isoformat()} 已早于发出日期 "
            f"{day.isoformat()}：请删除草稿后重新起草。"
        )
    _set_status(
        con, letter, "issued", "issued", actor or default_actor(), "；".join(remarks) or None, day
    )
    return get_letter(con, letter.letter_no)


def close_letter(
    con: Connection, letter_no: str, *, actor: str | None = None, note: str | None = None
) -> LetterRecord:
    """replied → closed: the answer was accepted (办结)."""
    letter = get_letter(con, resolve_letter_no(con, letter_no))
    _require(letter, ("replied",), "办结")
    _set_status(con, letter, "closed", "closed", actor or default_actor(), note)
    return get_letter(con, letter.letter_no)


def delete_draft(
    con: Connection, letter_no: str, *, actor: str | None = None, note: str = "草稿已删除"
) -> LetterRecord:
    """Remove an unissued draft with its items and files. Its number is not reused, and its
    audit trail stays (with a ``deleted`` event)."""
    letter = get_letter(con, resolve_letter_no(con, letter_no))
    _require(letter, ("draft",), "删除")
    con.execute("DELETE FROM letter_item_feedback WHERE letter_no = ?", [letter.letter_no])
    con.execute("DELETE FROM letter_items WHERE letter_no = ?", [letter.letter_no])
    con.execute("DELETE FROM letters WHERE letter_no = ?", [letter.letter_no])
    _event(con, letter.letter_no, "deleted", actor or default_actor(), "draft", None, note)
    for path in (letter.path_docx, letter.path_pdf):
        if path:
            Path(path).unlink(missing_ok=True)
    return letter


@dataclass(frozen=True)
class OverdueLetter:
    letter: LetterRecord
    days_overdue: int
    newly_marked: bool


def mark_overdue(
    con: Connection, today: date | None = None, *, actor: str | None = None
) -> list[OverdueLetter]:
    """issued → overdue for every letter whose ``due_on`` has passed; returns all overdue ones."""
    day = today or today_shanghai()
    who = actor or default_actor()
    out: list[OverdueLetter] = []
    for letter in list_letters(con, "issued"):
        if letter.due_on is not None and day > letter.due_on:
            _set_status(
                con,
                letter,
                "overdue",
                "overdue",
                who,
                f"答复期限 {letter.due_on.isoformat()} 已过，截至 {day.isoformat()} 未收到回函",
            )
            out.append(
                OverdueLetter(replace(letter, status="overdue"), (day - letter.due_on).days, True)
            )
    marked = {o.letter.letter_no for o in out}
    for letter in list_letters(con, "overdue"):
        if letter.letter_no not in marked:
            out.append(OverdueLetter(letter, letter.days_overdue(day), False))
    out.sort(key=lambda o: (o.letter.year, o.letter.serial))
    return out


def _item_rows(con: Connection, letter_no: str) -> list[tuple[Any, ...]]:
    return con.execute(_q("letters_items"), {"letter_no": letter_no}).fetchall()


def plan_urge_letters(con: Connection, today: date) -> PlanResult:
    """A 催办函 for each overdue letter without an open one (urge letters are not urged)."""
    result = PlanResult()
    for letter_no, _year, kind, unit, title, letter_date, issued_on, due_on in con.execute(
        _q("letters_urge_candidates")
    ).fetchall():
        rows = _item_rows(con, letter_no)
        codes = tuple(dict.fromkeys(str(r[3]) for r in rows))
        names = tuple(dict.fromkeys(str(r[4]) for r in rows))
        feedback = sum(len(r[11] or []) for r in rows)
        urged = UrgedLetter(
            letter_no=letter_no,
            kind=kind,
            title=title or KIND_LABELS.get(kind, kind),
            sent_on=issued_on or letter_date,
            due_on=due_on,
            project_codes=codes,
            project_names=names,
            feedback_count=feedback,
        )
        items = tuple(
            PlannedItem(
                year=r[2],
                project_code=r[3],
                problem_key=r[5],
                problem_label=r[6],
                status_at_letter=r[8],
                expected_pct=r[9],
                reported_pct=r[10],
            )
            for r in rows
        )
        result.plans.append(LetterPlan("urge_letter", unit, today, items, urged=urged))
    return result


def draft_urge_letters(
    con: Connection,
    today: date,
    out_dir: Path | None,
    settings: Settings,
    *,
    options: DraftOptions | None = None,
) -> DraftRun:
    """Draft a 催办函 for each overdue letter (``mark_overdue`` first), on one connection."""
    options = options or options_from_settings(settings)
    planned = plan_urge_letters(con, today)
    target = out_dir or default_letters_dir(settings, (options.letter_date or today).year)
    return _draft_run(con, planned, target, settings, options)


# --- replies ----------------------------------------------------------------------------------


def read_reply_text(path: Path) -> str:
    """The text of a unit's reply: .txt (UTF-8 or GB18030), .docx (python-docx), .pdf
    (``pdftotext``). Raises ``LetterError`` in Chinese when the file cannot be read."""
    if not path.is_file():
        raise LetterError(f"找不到回函文件：{path}")
    suffix = path.suffix.lower()
    if suffix == ".txt":
        data = path.read_bytes()
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise LetterError(f"{path.name}：无法识别文本编码（应为 UTF-8 或 GBK/GB18030）。")
    elif suffix == ".docx":
        text = _docx_text(path)
    elif suffix == ".pdf":
        text = _pdf_text(path)
    else:
        raise LetterError(
            f"{path.name}：不支持的回函格式 {suffix or '（无扩展名）'}；请提供 .docx、.pdf 或 .txt 文件"
            "（.doc 请先在 Word 中另存为 .docx）。"
        )
    text = "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").split("\n")).strip()
    if not text:
        hint = "（可能是扫描件，请提供文字版或 .docx）" if suffix == ".pdf" else ""
        raise LetterError(f"{path.name}：回函中没有可读取的文字{hint}。")
    return text


def _docx_text(path: Path) -> str:
    from docx import Document

    try:
        document = Document(str(path))
    except Exception as exc:  # python-docx raises several types for a broken package
        raise LetterError(f"{path.name}：无法打开 Word 文件（{type(exc).__name__}）。") from exc
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            lines.append("\t".join(cell.text for cell in row.cells))
    return "\n".join(lines)


def _pdf_text(path: Path) -> str:
    tool = shutil.which("pdftotext")
    if tool is None:
        raise LetterError(
            "未找到 pdftotext 命令，无法读取 PDF 回函：请安装 Debian 软件包 poppler-utils，"
            "或提供 .docx/.txt 版本的回函。"
        )
    try:
        done = subprocess.run(
            [tool, "-enc", "UTF-8", str(path), "-"],
            capture_output=True,
            timeout=60,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise LetterError(f"{path.name}：读取 PDF 超时（60 秒）。") from exc
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip()[:200]
        raise LetterError(
            f"{path.name}：无法读取 PDF（pdftotext 退出码 {done.returncode}）：{message}"
        )
    return done.stdout.decode("utf-8", "replace").replace("\f", "\n")


@dataclass(frozen=True)
class ReplyLink:
    item_id: int
    project_code: str
    problem_key: str | None
    linked_by: str  # mention | whole_letter
    excerpt: str


@dataclass(frozen=True)
class ReplyResult:
    reply_id: int
    letter: LetterRecord  # the letter the items belong to, after the change
    via_letter_no: str
    links: tuple[ReplyLink, ...]
    also_replied: tuple[str, ...]  # open urge letters answered by the same reply
    discarded: tuple[str, ...] = ()  # unissued urge drafts the reply made pointless


_HEADING = re.compile(r"^[一二三四五六七八九十]+[、.．]")


def _core_name(name: str) -> str:
    # "建设一批优质学校" is often cited without its verb: also look for the part after it.
    return re.sub(r"^(建设|推进|实施|开展|提升|新建|改造|完善|加快|推动|打造)", "", name)


def link_reply(text: str, items: Sequence[tuple[int, str, str, str | None]]) -> list[ReplyLink]:
    """Which part of a reply answers which item ``(item_id, code, project name, problem key)``.

    The section of a project is the paragraph naming it (by code, name or name without its
    leading verb) and the paragraphs after it up to the next ``一、`` heading or the next
    paragraph naming another project. An item the reply never names gets the whole reply.
    """
    paragraphs = [p.strip() for p in text.split("\n") if p.strip()]
    needles: dict[str, tuple[str, ...]] = {}
    for _, code, name, _ in items:
        core = _core_name(name)
        needles[code] = tuple(n for n in (code, name, core if len(core) >= 4 else "") if n)

    def names(paragraph: str) -> set[str]:
        return {code for code, ns in needles.items() if any(n in paragraph for n in ns)}

    sections: dict[str, list[str]] = {}
    current: str | None = None
    for paragraph in paragraphs:
        named = names(paragraph)
        if named:
            current = sorted(named)[0] if len(named) == 1 else None
            for code in named:
                sections.setdefault(code, []).append(paragraph)
            continue
        if _HEADING.match(paragraph):
            current = None
        elif current is not None:
            sections[current].append(paragraph)
    links: list[ReplyLink] = []
    for item_id, code, _, key in items:
        part = sections.get(code)
        if part:
            # Within a project, prefer the paragraphs on this very problem when there are some.
            if key and key != OTHER_PROBLEM:
                on_key = [p for p in part if key in p]
                if on_key and len(on_key) < len(part):
                    part = [part[0], *[p for p in on_key if p != part[0]]]
            excerpt, linked_by = "\n".join(part), "mention"
        else:
            excerpt, linked_by = text, "whole_letter"
        if len(excerpt) > _EXCERPT_MAX:
            excerpt = excerpt[:_EXCERPT_MAX] + "……"
        links.append(ReplyLink(item_id, code, key, linked_by, excerpt))
    return links


def save_reply(
    con: Connection,
    letter_no: str,
    *,
    file_name: str,
    file_sha256: str,
    text: str,
    received_on: date | None = None,
    actor: str | None = None,
    stored_path: Path | None = None,
) -> ReplyResult:
    """Store a reply and link it to the letter's items; issued/overdue → replied.

    A reply to a 催办函 answers the original letter (which carries the items), and a reply to the
    original also answers its open 催办函. A further reply to a replied letter is added as a
    supplement without a status change.
    """
    who = actor or default_actor()
    via = get_letter(con, resolve_letter_no(con, letter_no))
    _require(via, ("issued", "overdue", "replied"), "登记回函")
    root = get_letter(con, via.refers_to) if via.refers_to else via
    _require(root, ("issued", "overdue", "replied"), "登记回函")
    day = received_on or today_shanghai()
    row = con.execute(
        "INSERT INTO letter_replies (letter_no, via_letter_no, received_on, file_name, "
        "file_sha256, stored_path, text, recorded_at, recorded_by) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING reply_id",
        [
            root.letter_no,
            via.letter_no,
            day,
            file_name,
            file_sha256,
            str(stored_path) if stored_path else None,
            text,
            datetime.now(SHANGHAI),
            who,
        ],
    ).fetchone()
    assert row is not None
    reply_id = int(row[0])
    items = [(int(r[0]), str(r[3]), str(r[4]), r[5]) for r in _item_rows(con, root.letter_no)]
    links = link_reply(text, items)
    _executemany(
        con,
        "INSERT INTO reply_items (reply_id, item_id, letter_no, linked_by, excerpt) "
        "VALUES (?, ?, ?, ?, ?)",
        [[reply_id, link.item_id, root.letter_no, link.linked_by, link.excerpt] for link in links],
    )
    mentioned = sum(1 for link in links if link.linked_by == "mention")
    note = f"回函 {file_name}（{day.isoformat()} 收到），关联 {len(links)} 项，其中点名答复 {mentioned} 项"
    if via.letter_no != root.letter_no:
        note += f"；经催办函 {via.letter_no} 登记"
    if root.status == "replied":
        _event(con, root.letter_no, "reply_added", who, "replied", "replied", "补充" + note)
    else:
        _set_status(con, root, "replied", "replied", who, note)
    also: list[str] = []
    for urge in con.execute(
        "SELECT letter_no FROM letters WHERE refers_to = ? AND status IN ('issued', 'overdue') "
        "ORDER BY serial",
        [root.letter_no],
    ).fetchall():
        urge_letter = get_letter(con, urge[0])
        _set_status(
            con, urge_letter, "replied", "replied", who, f"原函 {root.letter_no} 已收到回函"
        )
        also.append(urge_letter.letter_no)
    # An unissued 催办函 for an answered letter must never go out: drop the draft.
    discarded = [
        delete_draft(
            con, str(r[0]), actor=who, note=f"原函 {root.letter_no} 已收到回函，催办函草稿自动删除"
        ).letter_no
        for r in con.execute(
            "SELECT letter_no FROM letters WHERE refers_to = ? AND status = 'draft' ORDER BY serial",
            [root.letter_no],
        ).fetchall()
    ]
    return ReplyResult(
        reply_id,
        get_letter(con, root.letter_no),
        via.letter_no,
        tuple(links),
        tuple(also),
        tuple(discarded),
    )


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def record_reply(
    con: Connection,
    letter_no: str,
    file: Path,
    *,
    received_on: date | None = None,
    actor: str | None = None,
    store_dir: Path | None = None,
) -> ReplyResult:
    """Read a reply file (.txt/.docx/.pdf), keep a copy under ``store_dir`` (when given) and
    register it against ``letter_no`` (see ``save_reply``)."""
    text = read_reply_text(file)
    resolved = resolve_letter_no(con, letter_no)
    stored: Path | None = None
    if store_dir is not None:
        store_dir.mkdir(parents=True, exist_ok=True)
        stored = store_dir / f"{_UNSAFE_FILE_CHARS.sub('-', resolved)}_回函_{file.name}"
        if stored.resolve() != file.resolve():
            shutil.copyfile(file, stored)
    return save_reply(
        con,
        resolved,
        file_name=file.name,
        file_sha256=sha256_file(file),
        text=text,
        received_on=received_on,
        actor=actor,
        stored_path=stored,
    )


# --- closing the loop: 民意直通车 ---------------------------------------------------------------


@dataclass(frozen=True)
class PushItem:
    feedback_id: int
    source_id: str
    letter_no: str
    unit: str
    reply_id: int
    received_on: date
    excerpt: str

    def result_text(self) -> str:
        """What the resident reads in the mini-program: who answered, when, and the answer."""
        body = mask_pii(self.excerpt.strip())
        text = (
            f"您反映的问题已由市人大常委会转交{self.unit}办理（{self.letter_no}）。"
            f"{self.unit}于{format_date_cn(self.received_on)}答复：{body}"
        )
        return text if len(text) <= _PUSH_TEXT_MAX else text[: _PUSH_TEXT_MAX - 2] + "……"


@dataclass(frozen=True)
class PushPolicy:
    attempts: int = 4
    backoff_s: float = 0.5  # first wait; doubles each retry
    max_backoff_s: float = 8.0
    timeout_s: float = 15.0


@dataclass(frozen=True)
class PushOutcome:
    item: PushItem
    ok: bool
    attempts: int
    http_status: int | None
    error: str | None  # Chinese, for the operator
    at: datetime
    text: str


def pending_result_pushes(con: Connection) -> list[PushItem]:
    """民意直通车 items covered by an answered letter whose result has not been pushed."""
    return [PushItem(*row) for row in con.execute(_q("letters_push_pending")).fetchall()]


def push_result(
    session: requests.Session,
    base_url: str,
    token: str | None,
    item: PushItem,
    *,
    policy: PushPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> PushOutcome:
    """``POST {base}/opinions/{id}/result`` with ``{"result", "letter_no"}``.

    Timeouts, connection errors, 429 and 5xx are retried with exponential backoff; other 4xx
    are not (they will not get better by repeating). The server treats a repeat as a no-op, so
    retrying after a lost response is safe.
    """
    policy = policy or PushPolicy()
    text = item.result_text()
    url = f"{base_url.rstrip('/')}/opinions/{quote(item.source_id, safe='')}/result"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    status: int | None = None
    error: str | None = None
    delay = policy.backoff_s
    attempt = 0
    for attempt in range(1, policy.attempts + 1):
        try:
            response = session.post(
                url,
                json={"result": text, "letter_no": item.letter_no},
                headers=headers,
                timeout=policy.timeout_s,
            )
        except requests.Timeout:
            status, error = None, f"请求超时（{policy.timeout_s:.0f} 秒）"
        except requests.ConnectionError as exc:
            status, error = None, f"无法连接民意直通车接口：{type(exc).__name__}"
        else:
            status = response.status_code
            if 200 <= status < 300:
                return PushOutcome(item, True, attempt, status, None, datetime.now(SHANGHAI), text)
            error = f"接口返回 HTTP {status}：{response.text[:200]}"
            if status < 500 and status != 429:
                break
        if attempt < policy.attempts:
            sleep(delay)
            delay = min(delay * 2, policy.max_backoff_s)
    return PushOutcome(item, False, attempt, status, error, datetime.now(SHANGHAI), text)


def save_push_outcomes(con: Connection, outcomes: Iterable[PushOutcome]) -> None:
    """Record pushes; a pushed item is never pushed again, a failed one is tried next run."""
    for o in outcomes:
        con.execute(
            "INSERT INTO result_pushes (feedback_id, source_id, letter_no, reply_id, status, "
            "attempts, http_status, error, result_text, first_tried_at, last_tried_at, pushed_at) "
            "VALUES ($fid, $sid, $no, $reply, $status, $attempts, $http, $error, $text, $at, $at, "
            "$pushed) "
            "ON CONFLICT (feedback_id) DO UPDATE SET status = excluded.status, "
            "letter_no = excluded.letter_no, reply_id = excluded.reply_id, "
            "attempts = result_pushes.attempts + excluded.attempts, "
            "http_status = excluded.http_status, error = excluded.error, "
            "result_text = excluded.result_text, last_tried_at = excluded.last_tried_at, "
            "pushed_at = excluded.pushed_at",
            {
                "fid": o.item.feedback_id,
                "sid": o.item.source_id,
                "no": o.item.letter_no,
                "reply": o.item.reply_id,
                "status": "pushed" if o.ok else "failed",
                "attempts": o.attempts,
                "http": o.http_status,
                "error": o.error,
                "text": o.text,
                "at": o.at,
                "pushed": o.at if o.ok else None,
            },
        )


# --- 满意度测评 ----------------------------------------------------------------------------------

RATING_SCORES: Final[dict[str, float]] = {"满意": 100.0, "基本满意": 60.0, "不满意": 0.0}
RATER_KINDS: Final[dict[str, str]] = {
    "resident": "resident",
    "居民": "resident",
    "群众": "resident",
    "市民": "resident",
    "deputy": "deputy",
    "代表": "deputy",
    "人大代表": "deputy",
}
RATER_LABELS: Final[dict[str, str]] = {"resident": "群众", "deputy": "人大代表"}
SATISFACTION_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "rating_id": ("评价编号", "测评编号", "评价ID"),
    "feedback_ref": ("feedback_id", "source_id", "意见编号", "反映编号", "留言编号", "事项编号"),
    "project_code": ("code", "项目编号", "项目代码"),
    "rater_kind": ("rater", "评价人类型", "评价人身份", "评价主体", "身份"),
    "rating": ("评价", "评价结果", "满意度", "测评结果"),
    "rated_on": ("date", "rated_at", "评价日期", "测评日期", "日期"),
}


@dataclass(frozen=True)
class RatingRow:
    row_number: int
    sheet: str
    raw: str
    rating_id: str | None
    feedback_ref: str | None
    project_code: str | None
    rater_kind: str
    rating: str
    rated_on: date | None


@dataclass(frozen=True)
class RatingReject:
    sheet: str
    row_number: int
    reason: str  # Chinese: 第5行：评价“很好”无法识别
    raw: str


@dataclass
class SatisfactionImport:
    file_name: str
    loaded: int = 0
    duplicates: int = 0
    rejects: list[RatingReject] = field(default_factory=list)
    run_id: str = ""

    def lines(self) -> list[str]:
        out = [
            f"{self.file_name}：导入满意度评价 {self.loaded} 条，重复跳过 {self.duplicates} 条，"
            f"拒收 {len(self.rejects)} 条。"
        ]
        out.extend(f"  {r.reason}" for r in self.rejects[:50])
        if len(self.rejects) > 50:
            out.append(f"  ……另有 {len(self.rejects) - 50} 条拒收未显示（见 rejected_rows）")
        return out


def read_satisfaction_file(path: Path) -> tuple[list[RatingRow], list[RatingReject], str]:
    """Parse a ratings CSV/XLSX (fetch step): rows, rejected rows with Chinese reasons, sha256."""
    rows: list[RatingRow] = []
    rejects: list[RatingReject] = []
    for sheet in read_sheets(path, SATISFACTION_COLUMNS, required=("rater_kind", "rating")):
        if "feedback_ref" not in sheet.columns and "project_code" not in sheet.columns:
            raise FileUnreadable(
                f"{sheet.label}：缺少“意见编号”或“项目编号”列，无法知道评价的对象。"
            )
        for source in sheet.rows:
            v = {k: clean(val) for k, val in source.values.items()}
            where = f"{sheet.label} 第{source.row_number}行"
            problems: list[str] = []
            kind = RATER_KINDS.get(v.get("rater_kind", "").lower())
            if kind is None:
                problems.append(
                    f"评价人类型“{v.get('rater_kind', '')}”无法识别（应为 群众 或 人大代表）"
                )
            rating = v.get("rating", "").replace(" ", "")
            if rating not in RATING_SCORES:
                problems.append(f"评价“{rating}”无法识别（应为 满意、基本满意 或 不满意）")
            ref, code = v.get("feedback_ref") or None, v.get("project_code") or None
            if not ref and not code:
                problems.append("意见编号和项目编号都为空")
            rated_on: date | None = None
            if v.get("rated_on"):
                try:
                    rated_on = parse_date(source.values["rated_on"])
                except ValueError as exc:
                    problems.append(f"评价日期有误：{exc}")
            if problems:
                rejects.append(
                    RatingReject(
                        sheet.label,
                        source.row_number,
                        f"{where}：{'；'.join(problems)}",
                        source.raw,
                    )
                )
                continue
            assert kind is not None
            rows.append(
                RatingRow(
                    source.row_number,
                    sheet.label,
                    source.raw,
                    v.get("rating_id") or None,
                    ref,
                    code.upper() if code else None,
                    kind,
                    rating,
                    rated_on,
                )
            )
    return rows, rejects, sha256_file(path)


def save_satisfaction(
    con: Connection,
    rows: Sequence[RatingRow],
    rejects: Sequence[RatingReject],
    *,
    year: int,
    file_name: str,
    file_sha256: str,
) -> SatisfactionImport:
    """Resolve each rating's item or project and store it (save step, caller's transaction).

    Identity: the file's rating id when it has one, else the file's hash, sheet and row, so
    re-importing a file adds nothing. Unresolvable rows go to ``rejected_rows``.
    """
    result = SatisfactionImport(file_name, rejects=list(rejects), run_id=str(uuid.uuid4()))
    started = datetime.now(SHANGHAI)
    known = {
        str(r[0])
        for r in con.execute("SELECT code FROM projects WHERE year = ?", [year]).fetchall()
    }
    lookup = _q("letters_feedback_lookup")
    for row in rows:
        where = f"{row.sheet} 第{row.row_number}行"
        feedback_id: int | None = None
        code = row.project_code
        if row.feedback_ref:
            hits = con.execute(lookup, {"ref": row.feedback_ref, "year": year}).fetchall()
            if not hits:
                result.rejects.append(
                    RatingReject(
                        row.sheet,
                        row.row_number,
                        f"{where}：找不到意见编号 {row.feedback_ref}",
                        row.raw,
                    )
                )
                continue
            if len(hits) > 1:
                result.rejects.append(
                    RatingReject(
                        row.sheet,
                        row.row_number,
                        f"{where}：意见编号 {row.feedback_ref} 对应多条意见，无法确定评价对象",
                        row.raw,
                    )
                )
                continue
            feedback_id = int(hits[0][0])
            code = code or hits[0][1]
            if code is None:
                result.rejects.append(
                    RatingReject(
                        row.sheet,
                        row.row_number,
                        f"{where}：意见 {row.feedback_ref} 未归入 {year} 年任何项目，请注明项目编号",
                        row.raw,
                    )
                )
                continue
        if code not in known:
            result.rejects.append(
                RatingReject(
                    row.sheet,
                    row.row_number,
                    f"{where}：{year} 年项目清单中没有项目编号 {code}",
                    row.raw,
                )
            )
            continue
        key = (
            f"id:{row.rating_id}"
            if row.rating_id
            else f"file:{file_sha256}:{row.sheet}:{row.row_number}"
        )
        inserted = con.execute(
            "INSERT INTO satisfaction_ratings (rating_key, year, project_code, feedback_id, level, "
            "rater_kind, rating, score, rated_on, source_file, row_number) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (rating_key) DO NOTHING "
            "RETURNING rating_id",
            [
                key,
                year,
                code,
                feedback_id,
                "item" if feedback_id is not None else "project",
                row.rater_kind,
                row.rating,
                RATING_SCORES[row.rating],
                row.rated_on,
                file_name,
                row.row_number,
            ],
        ).fetchall()
        if inserted:
            result.loaded += 1
        else:
            result.duplicates += 1
    _executemany(
        con,
        "INSERT INTO rejected_rows (run_id, source, file, row_number, reason, raw) "
        "VALUES (?, 'file:satisfaction', ?, ?, ?, ?)",
        [[result.run_id, file_name, r.row_number, r.reason, r.raw] for r in result.rejects],
    )
    con.execute(
        "INSERT INTO ingest_runs (run_id, source, started_at, finished_at, rows_read, rows_loaded, "
        "rows_rejected, rows_duplicate, status, message) "
        "VALUES (?, 'file:satisfaction', ?, ?, ?, ?, ?, ?, 'completed', ?)",
        [
            result.run_id,
            started,
            datetime.now(SHANGHAI),
            len(rows) + len(rejects),
            result.loaded,
            len(result.rejects),
            result.duplicates,
            file_name,
        ],
    )
    return result


def import_satisfaction(con: Connection, path: Path, year: int) -> SatisfactionImport:
    """Read and store a ratings file on one connection."""
    rows, rejects, sha = read_satisfaction_file(path)
    return save_satisfaction(con, rows, rejects, year=year, file_name=path.name, file_sha256=sha)


@dataclass(frozen=True)
class ProjectSatisfaction:
    code: str
    name: str
    unit: str
    ratings: int
    score: float | None  # 满意 = 100, 基本满意 = 60, 不满意 = 0, the mean; None without ratings
    resident_score: float | None
    deputy_score: float | None
    satisfied: int
    basically_satisfied: int
    dissatisfied: int
    item_ratings: int


def satisfaction_scores(con: Connection, year: int) -> list[ProjectSatisfaction]:
    """Every project of ``year`` with its satisfaction score, lowest first (unrated last)."""
    rows = con.execute(_q("letters_satisfaction_scores"), {"year": year}).fetchall()
    return [ProjectSatisfaction(*row) for row in rows]
