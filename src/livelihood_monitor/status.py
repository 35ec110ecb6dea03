"""Supervision status of the year's livelihood projects (时序进度) at 年初/年中/年末.

The rules of issue 5, as plain functions that take values and return values, so each rule can be
tested at its boundaries. The warehouse part at the end (``compute_status``) only fetches rows into
those values, calls ``evaluate_project`` per project and saves the result; it works in the
caller's connection and never opens one (``db`` is the only module that does).

Percentages are 0..100. Expected, reported and gap values are rounded to one decimal *before*
a status is chosen, so the status always agrees with the figures a supervisor sees: a gap shown as
-15.0 is 滞后, never 严重滞后 because of a hidden -15.04.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal, cast

from livelihood_monitor import db
from livelihood_monitor.config import PACKAGE_DIR, Settings
from livelihood_monitor.db import Connection
from livelihood_monitor.registry import Project, load_projects

Status = Literal["completed", "missing", "ahead", "on_track", "behind", "seriously_behind"]
Checkpoint = Literal["start", "mid", "end"]
PlanItem = Literal["target", "target_value", "target_unit", "unit", "milestones"]

# In the order the rules are checked (issue 5): the first that applies wins.
STATUSES: tuple[Status, ...] = (
    "completed",
    "missing",
    "ahead",
    "on_track",
    "behind",
    "seriously_behind",
)
STATUS_LABELS: dict[Status, str] = {
    "completed": "已完成",
    "missing": "未填报",
    "ahead": "超时序",
    "on_track": "符合时序",
    "behind": "滞后",
    "seriously_behind": "严重滞后",
}
CHECKPOINTS: tuple[Checkpoint, ...] = ("start", "mid", "end")
CHECKPOINT_LABELS: dict[Checkpoint, str] = {"start": "年初", "mid": "年中", "end": "年末"}
PLAN_ITEM_LABELS: dict[PlanItem, str] = {
    "target": "目标任务",
    "target_value": "目标值",
    "target_unit": "计量单位",
    "unit": "牵头单位",
    "milestones": "进度计划（里程碑）",
}
PCT_DECIMALS = 1

# Used only when the lexicon has no ``[stalled]`` section (or no message_types.toml at all, e.g.
# before the lexicon is written): phrases residents use for "not started / stopped / poor quality".
# Kept short and specific, because a false conflict accuses a unit of misreporting.
DEFAULT_STALLED_TERMS: tuple[str, ...] = (
    "未开工",
    "没开工",
    "没有开工",
    "还没开始",
    "迟迟未",
    "迟迟没",
    "迟迟不",
    "没动静",
    "停工",
    "停滞",
    "烂尾",
    "半途而废",
    "质量差",
    "质量太差",
    "质量问题",
    "偷工减料",
    "豆腐渣",
    "敷衍了事",
)
STALLED_TERMS_FILE = "message_types.toml"


# --- configuration ------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusThresholds:
    """Every number the status rules use; overridable in ``[livelihood_monitor.status]``."""

    completed_pct: float = 100.0  # reported >= this: 已完成
    stale_after_days: int = 45  # latest report older than this many days: 未填报
    ahead_gap: float = 10.0  # gap >= this: 超时序
    on_track_gap: float = 0.0  # on_track_gap <= gap < ahead_gap: 符合时序
    behind_gap: float = -15.0  # behind_gap <= gap < on_track_gap: 滞后; below: 严重滞后
    feedback_window_days: int = 30  # "recent" residents' feedback: today and the 29 days before
    conflict_reported_pct: float = 80.0  # a unit reporting at least this much ...
    conflict_min_complaints: int = 2  # ... against at least this many "stalled" complaints

    def __post_init__(self) -> None:
        if not self.behind_gap <= self.on_track_gap <= self.ahead_gap:
            raise ValueError(
                "进度阈值配置有误：应满足 behind_gap ≤ on_track_gap ≤ ahead_gap，"
                f"当前为 {self.behind_gap}、{self.on_track_gap}、{self.ahead_gap}"
            )
        if self.stale_after_days < 0 or self.feedback_window_days < 1:
            raise ValueError(
                "进度阈值配置有误：stale_after_days 不能为负，feedback_window_days 至少为 1"
            )
        if self.conflict_min_complaints < 1:
            raise ValueError("进度阈值配置有误：conflict_min_complaints 至少为 1")


def _month_day(value: object, key: str) -> tuple[int, int]:
    """``"04-01"``/``"4-1"``/``[4, 1]`` → (4, 1), checked against a non-leap year."""
    parts: list[object]
    if isinstance(value, str):
        parts = list(re.split(r"[-/.月日]", value.strip().rstrip("日")))
    elif isinstance(value, list | tuple):
        parts = list(value)
    else:
        parts = []
    try:
        month, day = (int(str(p)) for p in parts)
        date(2001, month, day)  # Feb 29 is refused: it does not exist every year
    except (ValueError, TypeError):
        raise ValueError(f'检查点配置 {key} 应为“月-日”，例如 "04-01"，当前为 {value!r}') from None
    return month, day


@dataclass(frozen=True)
class CheckpointConfig:
    """``start`` before ``mid_from``, ``mid`` until the day before ``end_from``, then ``end``."""

    mid_from: tuple[int, int] = (4, 1)
    end_from: tuple[int, int] = (10, 1)

    def __post_init__(self) -> None:
        if not self.mid_from < self.end_from:
            raise ValueError(
                f"检查点配置有误：年中起始 {self.mid_from} 应早于年末起始 {self.end_from}"
            )


def status_config(settings: Settings) -> tuple[StatusThresholds, CheckpointConfig]:
    """Read ``[livelihood_monitor.status]`` from the settings file; missing keys keep defaults.

    Unknown keys are refused, so a misspelt threshold fails loudly instead of being ignored.
    """
    raw = settings.extra.get("status", {})
    if not isinstance(raw, Mapping):
        raise ValueError("配置项 status 应为一个表，例如 [livelihood_monitor.status]")
    threshold_keys = {f.name: f.type for f in fields(StatusThresholds)}
    unknown = set(raw) - set(threshold_keys) - {"mid_from", "end_from"}
    if unknown:
        raise ValueError(
            f"[livelihood_monitor.status] 中有无法识别的配置项：{'、'.join(sorted(unknown))}"
        )
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in threshold_keys:
            continue
        wants_int = threshold_keys[key] in ("int", int)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"配置项 status.{key} 应为数字，当前为 {value!r}")
        if wants_int and not float(value).is_integer():
            raise ValueError(f"配置项 status.{key} 应为整数，当前为 {value!r}")
        values[key] = int(value) if wants_int else float(value)
    checkpoints = CheckpointConfig(
        mid_from=_month_day(raw.get("mid_from", "04-01"), "mid_from"),
        end_from=_month_day(raw.get("end_from", "10-01"), "end_from"),
    )
    return StatusThresholds(**values), checkpoints


def load_stalled_terms(path: Path | None = None) -> tuple[str, ...]:
    """Cue words for "not started / stopped / poor quality" from the lexicon's ``[stalled]``.

    The file is ``lexicon/message_types.toml`` (or ``$LM_LEXICON_DIR/message_types.toml``). When it
    or its ``[stalled]`` section does not exist, ``DEFAULT_STALLED_TERMS`` is used, so the conflict
    check still works on a deployment whose lexicon predates the section.
    """
    if path is None:
        folder = Path(os.environ.get("LM_LEXICON_DIR", PACKAGE_DIR / "lexicon"))
        path = folder / STALLED_TERMS_FILE
    if not path.is_file():
        return DEFAULT_STALLED_TERMS
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    section = data.get("stalled")
    if not isinstance(section, dict) or "terms" not in section:
        return DEFAULT_STALLED_TERMS
    terms = section["terms"]
    if not isinstance(terms, list) or not all(isinstance(t, str) for t in terms):
        raise ValueError(f"{path.name}：[stalled] 的 terms 应为字符串列表")
    cleaned = tuple(dict.fromkeys(t.strip() for t in terms if t.strip()))
    return cleaned or DEFAULT_STALLED_TERMS


# --- values the rules work on ---------------------------------------------------------------


@dataclass(frozen=True)
class Milestone:
    """A unit's plan: ``planned_pct`` of the work done by ``planned_on``."""

    planned_on: date
    planned_pct: float


@dataclass(frozen=True)
class ProgressReport:
    report_date: date
    progress_pct: float | None
    completed_value: float | None = None
    received_at: datetime | None = None  # breaks ties between two reports of the same date


@dataclass(frozen=True)
class FeedbackItem:
    """One resident message already matched to a project (rank-1 match, manual over auto)."""

    feedback_id: int
    submitted_on: date  # Asia/Shanghai calendar date
    message_type: str | None  # complaint | suggestion | inquiry | praise
    text: str
    matched_terms: tuple[str, ...] = ()


@dataclass(frozen=True)
class ResidentSignal:
    feedback_30d: int
    complaints_30d: int
    complaint_share: float | None  # None when there was no feedback in the window
    stalled_complaints_30d: int
    conflict: bool
    hot_terms: tuple[str, ...] = ()
    stalled_feedback_ids: tuple[int, ...] = ()  # the evidence behind a conflict flag


@dataclass(frozen=True)
class ResultCheck:
    """年末问结果: the latest completed value against the voted target."""

    target_value: float | None
    final_value: float | None
    achieved_pct: float | None
    met: bool | None  # None: no target value or no completed value reported


@dataclass(frozen=True)
class ProjectStatus:
    year: int
    code: str
    name: str
    category: str
    unit: str
    as_of: date
    checkpoint: Checkpoint
    expected_pct: float
    reported_pct: float | None
    gap_pct: float | None
    status: Status
    report_date: date | None
    signal: ResidentSignal
    plan_missing: tuple[PlanItem, ...]
    result: ResultCheck

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def checkpoint_label(self) -> str:
        return CHECKPOINT_LABELS[self.checkpoint]

    @property
    def feedback_30d(self) -> int:
        return self.signal.feedback_30d

    @property
    def conflict(self) -> bool:
        return self.signal.conflict

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (dates as ISO strings)."""
        return {
            "year": self.year,
            "code": self.code,
            "name": self.name,
            "category": self.category,
            "unit": self.unit,
            "as_of": self.as_of.isoformat(),
            "checkpoint": self.checkpoint,
            "checkpoint_label": self.checkpoint_label,
            "expected_pct": self.expected_pct,
            "reported_pct": self.reported_pct,
            "gap_pct": self.gap_pct,
            "report_date": self.report_date.isoformat() if self.report_date else None,
            "status": self.status,
            "status_label": self.status_label,
            "feedback_30d": self.signal.feedback_30d,
            "complaints_30d": self.signal.complaints_30d,
            "complaint_share": self.signal.complaint_share,
            "stalled_complaints_30d": self.signal.stalled_complaints_30d,
            "conflict": self.signal.conflict,
            "hot_terms": list(self.signal.hot_terms),
            "plan_missing": list(self.plan_missing),
            "target_value": self.result.target_value,
            "final_value": self.result.final_value,
            "achieved_pct": self.result.achieved_pct,
            "target_met": self.result.met,
        }


# --- the rules ------------------------------------------------------------------------------


def _clamp(pct: float) -> float:
    return min(100.0, max(0.0, pct))


def expected_pct(
    project_start: date,
    due: date,
    as_of: date,
    milestones: Sequence[Milestone] | None = None,
) -> float:
    """时序进度: the share of the work due by ``as_of``, 0..100, not rounded.

    Without a plan: linear in days from ``project_start`` (0) to ``due`` (100), so a Jan 1 → Dec 31
    project expects exactly 50 on Jul 2. With a plan: its points are joined by straight lines,
    from 0 at the start to the first milestone, and from the last one to 100 at ``due`` when the
    plan stops short of 100 (the voted deadline still holds); nothing is expected before the first
    point.
    """
    if not milestones:
        if as_of >= due:
            return 100.0
        if as_of <= project_start:
            return 0.0
        return _clamp(100.0 * (as_of - project_start).days / (due - project_start).days)
    plan: dict[date, float] = {}
    for m in milestones:  # two entries for one date: the higher one is the plan
        plan[m.planned_on] = max(plan.get(m.planned_on, 0.0), _clamp(m.planned_pct))
    points = sorted(plan.items())
    if points[0][0] > project_start:
        points.insert(0, (project_start, 0.0))
    if points[-1][0] < due and points[-1][1] < 100.0:
        points.append((due, 100.0))
    if as_of < points[0][0]:
        return 0.0
    for (d0, p0), (d1, p1) in pairwise(points):
        if d0 <= as_of <= d1:
            return _clamp(p0 + (p1 - p0) * (as_of - d0).days / (d1 - d0).days)
    return points[-1][1]


def latest_report(reports: Iterable[ProgressReport], as_of: date) -> ProgressReport | None:
    """The latest report on or before ``as_of`` that states a progress percentage.

    Of two reports with the same date the later received wins (a unit's correction); with no
    receipt times, the later in ``reports``.
    """
    best: ProgressReport | None = None
    best_key: tuple[date, float] | None = None
    for report in reports:
        if report.report_date > as_of or report.progress_pct is None:
            continue
        received = report.received_at.timestamp() if report.received_at else float("-inf")
        key = (report.report_date, received)
        if best_key is None or key >= best_key:
            best, best_key = report, key
    return best


def gap_pct(expected: float, reported: float | None) -> float | None:
    """reported - expected, rounded like the figures it is computed from."""
    if reported is None:
        return None
    return round(reported - expected, PCT_DECIMALS)


def classify_status(
    expected: float,
    reported: float | None,
    report_date: date | None,
    as_of: date,
    thresholds: StatusThresholds,
) -> Status:
    """Issue 5's rules in their order: completed, missing, ahead, on_track, behind, seriously_behind."""
    if reported is not None and reported >= thresholds.completed_pct:
        return "completed"
    if reported is None or report_date is None:
        return "missing"
    if (as_of - report_date).days > thresholds.stale_after_days:
        return "missing"
    # Rounding away float noise keeps 16.4 - 6.4 (= 9.999999999999998) an exact +10.
    gap = round(reported - expected, 6)
    if gap >= thresholds.ahead_gap:
        return "ahead"
    if gap >= thresholds.on_track_gap:
        return "on_track"
    if gap >= thresholds.behind_gap:
        return "behind"
    return "seriously_behind"


def checkpoint_for(
    as_of: date, config: CheckpointConfig | None = None, year: int | None = None
) -> Checkpoint:
    """年初/年中/年末 for a date. Given the project ``year``, a date after it is still ``end``
    (the year-end review of last year's list happens in January) and one before it ``start``."""
    config = config or CheckpointConfig()
    if year is not None and as_of.year != year:
        return "end" if as_of.year > year else "start"
    if as_of < date(as_of.year, *config.mid_from):
        return "start"
    if as_of < date(as_of.year, *config.end_from):
        return "mid"
    return "end"


def plan_gaps(project: Project, milestones: Sequence[Milestone]) -> tuple[PlanItem, ...]:
    """年初问计划: which parts of a project's plan are missing (labels in ``PLAN_ITEM_LABELS``)."""
    missing: list[PlanItem] = []
    if not (project.target or "").strip():
        missing.append("target")
    if project.target_value is None:
        missing.append("target_value")
    if not (project.target_unit or "").strip():
        missing.append("target_unit")
    if not (project.unit or "").strip():
        missing.append("unit")
    if not milestones:
        missing.append("milestones")
    return tuple(missing)


def result_check(
    target_value: float | None, reports: Iterable[ProgressReport], as_of: date
) -> ResultCheck:
    """年末问结果: the latest completed value on or before ``as_of`` against ``target_value``.

    "Met" means final ≥ target; a target where less is better cannot be told apart yet.
    """
    latest: ProgressReport | None = None
    for report in reports:
        if report.report_date > as_of or report.completed_value is None:
            continue
        if latest is None or report.report_date >= latest.report_date:
            latest = report
    final = latest.completed_value if latest else None
    if target_value is None or final is None:
        return ResultCheck(target_value, final, None, None)
    achieved = round(100.0 * final / target_value, PCT_DECIMALS) if target_value > 0 else None
    return ResultCheck(target_value, final, achieved, final >= target_value)


def is_stalled_complaint(item: FeedbackItem, stalled_terms: Sequence[str]) -> bool:
    """A complaint saying the work has not started, has stopped or is of poor quality."""
    return item.message_type == "complaint" and any(term in item.text for term in stalled_terms)


def resident_signal(
    feedback: Iterable[FeedbackItem],
    as_of: date,
    reported_pct: float | None,
    stalled_terms: Sequence[str],
    thresholds: StatusThresholds,
    hot_terms: int = 3,
) -> ResidentSignal:
    """Residents' recent feedback on one project, and the conflict flag.

    "Recent" is ``as_of`` and the ``feedback_window_days - 1`` days before it. The conflict flag
    (填报与民意不符) is raised when the unit reports at least ``conflict_reported_pct`` while at
    least ``conflict_min_complaints`` recent complaints say work has not started, stopped or is
    poor: a reason for a supervisor to go and look.
    """
    recent = [
        f for f in feedback if 0 <= (as_of - f.submitted_on).days < thresholds.feedback_window_days
    ]
    complaints = [f for f in recent if f.message_type == "complaint"]
    stalled = [f for f in complaints if is_stalled_complaint(f, stalled_terms)]
    conflict = (
        reported_pct is not None
        and reported_pct >= thresholds.conflict_reported_pct
        and len(stalled) >= thresholds.conflict_min_complaints
    )
    counts = Counter(term for f in recent for term in dict.fromkeys(f.matched_terms))
    hot = tuple(t for t, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:hot_terms])
    return ResidentSignal(
        feedback_30d=len(recent),
        complaints_30d=len(complaints),
        complaint_share=round(len(complaints) / len(recent), 4) if recent else None,
        stalled_complaints_30d=len(stalled),
        conflict=conflict,
        hot_terms=hot,
        stalled_feedback_ids=tuple(f.feedback_id for f in stalled),
    )


def _with_pct(report: ProgressReport, target_value: float | None) -> ProgressReport:
    """A report giving only a completed value (e.g. 34 of 85) is read as a percentage of target."""
    if report.progress_pct is not None or report.completed_value is None or not target_value:
        return report
    return ProgressReport(
        report.report_date,
        100.0 * report.completed_value / target_value,
        report.completed_value,
        report.received_at,
    )


def evaluate_project(
    project: Project,
    as_of: date,
    reports: Sequence[ProgressReport] = (),
    milestones: Sequence[Milestone] = (),
    feedback: Sequence[FeedbackItem] = (),
    *,
    thresholds: StatusThresholds | None = None,
    checkpoints: CheckpointConfig | None = None,
    stalled_terms: Sequence[str] = DEFAULT_STALLED_TERMS,
) -> ProjectStatus:
    """Every rule for one project at one date."""
    thresholds = thresholds or StatusThresholds()
    expected = round(
        expected_pct(project.start_date, project.due_date, as_of, milestones), PCT_DECIMALS
    )
    usable = [_with_pct(r, project.target_value) for r in reports]
    report = latest_report(usable, as_of)
    reported = (
        round(report.progress_pct, PCT_DECIMALS)
        if report and report.progress_pct is not None
        else None
    )
    report_date = report.report_date if report else None
    return ProjectStatus(
        year=project.year,
        code=project.code,
        name=project.name,
        category=project.category,
        unit=project.unit,
        as_of=as_of,
        checkpoint=checkpoint_for(as_of, checkpoints, project.year),
        expected_pct=expected,
        reported_pct=reported,
        gap_pct=gap_pct(expected, reported),
        status=classify_status(expected, reported, report_date, as_of, thresholds),
        report_date=report_date,
        signal=resident_signal(feedback, as_of, reported, stalled_terms, thresholds),
        plan_missing=plan_gaps(project, milestones),
        result=result_check(project.target_value, reports, as_of),
    )


def status_counts(statuses: Iterable[ProjectStatus]) -> dict[Status, int]:
    """Projects per status, every status present (0 where none), in rule order."""
    counts = Counter(s.status for s in statuses)
    return {s: counts.get(s, 0) for s in STATUSES}


# --- warehouse ------------------------------------------------------------------------------


@dataclass
class StatusInputs:
    """What ``compute_status`` reads for one year and date, grouped by project code."""

    projects: list[Project]
    reports: dict[str, list[ProgressReport]] = field(default_factory=dict)
    milestones: dict[str, list[Milestone]] = field(default_factory=dict)
    feedback: dict[str, list[FeedbackItem]] = field(default_factory=dict)


_TERM_SPLIT = re.compile(r"[;；,，、|\s]+")


def _terms(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value if str(v).strip())
    return tuple(t for t in _TERM_SPLIT.split(str(value)) if t)


def fetch_status_inputs(
    con: Connection, year: int, as_of: date, thresholds: StatusThresholds | None = None
) -> StatusInputs:
    """Read projects, reports up to ``as_of``, milestone plans and the window's matched feedback."""
    thresholds = thresholds or StatusThresholds()
    inputs = StatusInputs(projects=load_projects(con, year))
    params = {"year": year, "as_of": as_of}
    for code, report_date, pct, value, received in con.execute(
        db.load_sql("queries/status_reports.sql"), params
    ).fetchall():
        inputs.reports.setdefault(code, []).append(
            ProgressReport(report_date, pct, value, received)
        )
    for code, planned_on, planned_pct in con.execute(
        db.load_sql("queries/status_milestones.sql"), {"year": year}
    ).fetchall():
        inputs.milestones.setdefault(code, []).append(Milestone(planned_on, planned_pct))
    window_start = as_of - timedelta(days=thresholds.feedback_window_days - 1)
    for fid, code, submitted_on, message_type, text, terms in con.execute(
        db.load_sql("queries/status_feedback.sql"), {**params, "window_start": window_start}
    ).fetchall():
        inputs.feedback.setdefault(code, []).append(
            FeedbackItem(fid, submitted_on, message_type, text or "", _terms(terms))
        )
    return inputs


def save_status(con: Connection, year: int, as_of: date, statuses: Sequence[ProjectStatus]) -> None:
    """Replace the rows of (year, as_of); rows of other dates stay, so trends can be drawn."""
    con.execute("DELETE FROM project_status WHERE year = ? AND as_of = ?", [year, as_of])
    if not statuses:
        return
    con.executemany(
        "INSERT INTO project_status (year, project_code, as_of, checkpoint, expected_pct, "
        "reported_pct, gap_pct, status, feedback_30d, conflict, report_date, complaints_30d, "
        "complaint_share, stalled_complaints_30d, hot_terms, plan_missing, target_value, "
        "final_value, target_met) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            [
                year,
                s.code,
                as_of,
                s.checkpoint,
                s.expected_pct,
                s.reported_pct,
                s.gap_pct,
                s.status,
                s.signal.feedback_30d,
                s.signal.conflict,
                s.report_date,
                s.signal.complaints_30d,
                s.signal.complaint_share,
                s.signal.stalled_complaints_30d,
                list(s.signal.hot_terms),
                list(s.plan_missing),
                s.result.target_value,
                s.result.final_value,
                s.result.met,
            ]
            for s in statuses
        ],
    )


def compute_status(
    con: Connection,
    year: int,
    as_of: date,
    *,
    thresholds: StatusThresholds | None = None,
    checkpoints: CheckpointConfig | None = None,
    stalled_terms: Sequence[str] | None = None,
) -> list[ProjectStatus]:
    """Status of every project of ``year`` at ``as_of``, written to ``project_status``.

    Runs in the caller's transaction (``db.write_transaction``); returns the rows by code.
    """
    thresholds = thresholds or StatusThresholds()
    terms = tuple(stalled_terms) if stalled_terms is not None else load_stalled_terms()
    inputs = fetch_status_inputs(con, year, as_of, thresholds)
    statuses = evaluate_all(inputs, as_of, thresholds, checkpoints, terms)
    save_status(con, year, as_of, statuses)
    return statuses


def evaluate_all(
    inputs: StatusInputs,
    as_of: date,
    thresholds: StatusThresholds,
    checkpoints: CheckpointConfig | None,
    stalled_terms: Sequence[str],
) -> list[ProjectStatus]:
    """Every project of the fetched inputs, evaluated at ``as_of`` (pure: no warehouse access)."""
    return [
        evaluate_project(
            project,
            as_of,
            inputs.reports.get(project.code, []),
            inputs.milestones.get(project.code, []),
            inputs.feedback.get(project.code, []),
            thresholds=thresholds,
            checkpoints=checkpoints,
            stalled_terms=stalled_terms,
        )
        for project in inputs.projects
    ]


def plan_item_labels(items: Iterable[str]) -> list[str]:
    """Chinese names of missing plan items, for operators."""
    return [PLAN_ITEM_LABELS.get(cast(PlanItem, i), i) for i in items]
