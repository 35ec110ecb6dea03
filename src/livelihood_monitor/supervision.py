"""Daily supervision: compute status, draft new letters, flag overdue replies.

Plain functions on a warehouse *file*, each step in its own short transaction, so the dashboard
keeps reading while they run (DuckDB allows one writer or many readers): a Prefect flow wraps
each public step as a task and sequences them; ``run_daily_supervision`` runs them in order.

* fetching and computing are separate from saving: ``fetch_status`` reads on a read-only
  connection and evaluates in Python, ``save_statuses`` writes;
* letters: deciding what to write and numbering it happen in one short write transaction
  (a few queries, milliseconds) so two runs cannot both forward the same problem; the slow
  part — writing .docx files and converting them with LibreOffice — runs with no connection
  open, and the file paths are saved in another short transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

import requests

from livelihood_monitor import db, letters
from livelihood_monitor import status as status_engine
from livelihood_monitor.config import Settings
from livelihood_monitor.letters import (
    DraftOptions,
    DraftRun,
    OverdueLetter,
    PlanResult,
    PushOutcome,
    PushPolicy,
)

__all__ = [
    "DraftKind",
    "OverdueRun",
    "SupervisionReport",
    "draft_letters",
    "fetch_status",
    "flag_overdue",
    "push_results",
    "run_daily_supervision",
    "save_statuses",
]

DraftKind = Literal["reminder", "feedback"]
DRAFT_KINDS: tuple[DraftKind, ...] = ("reminder", "feedback")


def fetch_status(
    warehouse: Path, year: int, as_of: date, settings: Settings
) -> list[status_engine.ProjectStatus]:
    """Read the inputs on a short read-only connection and evaluate every project (no writes)."""
    thresholds, checkpoints = status_engine.status_config(settings)
    stalled = status_engine.load_stalled_terms()
    with db.read_connection(warehouse) as con:
        inputs = status_engine.fetch_status_inputs(con, year, as_of, thresholds)
    return status_engine.evaluate_all(inputs, as_of, thresholds, checkpoints, stalled)


def save_statuses(
    warehouse: Path, year: int, as_of: date, statuses: Sequence[status_engine.ProjectStatus]
) -> None:
    with db.write_transaction(warehouse) as con:
        status_engine.save_status(con, year, as_of, statuses)


def _render_and_save(
    warehouse: Path, drafts: list[letters.Draft], out_dir: Path, options: DraftOptions
) -> list[letters.RenderedLetter]:
    # No connection is open while python-docx and LibreOffice work (seconds per batch).
    rendered = letters.render_drafts(drafts, out_dir, pdf=options.pdf)
    with db.write_transaction(warehouse) as con:
        letters.save_rendered(con, rendered)
    return rendered


def draft_letters(
    warehouse: Path,
    year: int,
    as_of: date,
    settings: Settings,
    *,
    kinds: Sequence[DraftKind] = DRAFT_KINDS,
    out_dir: Path | None = None,
    options: DraftOptions | None = None,
) -> DraftRun:
    """Draft 进度提醒函 and/or 意见反馈函 for ``as_of`` (status computed first if not stored)."""
    options = options or letters.options_from_settings(settings)
    computed = False
    with db.write_transaction(warehouse) as con:
        planned = PlanResult()
        if "reminder" in kinds:
            computed = letters.ensure_status(con, year, as_of, settings)
            reminders = letters.plan_reminder_letters(
                con, year, as_of, letter_date=options.letter_date
            )
            planned.plans += reminders.plans
            planned.notes += reminders.notes
        if "feedback" in kinds:
            feedback = letters.plan_feedback_letters(con, year, as_of)
            planned.plans += feedback.plans
            planned.notes += feedback.notes
        drafts = letters.save_drafts(con, planned.plans, settings=settings, options=options)
    target = out_dir or letters.default_letters_dir(settings, year)
    rendered = _render_and_save(warehouse, drafts, target, options)
    return DraftRun(rendered, planned.notes, computed)


@dataclass
class OverdueRun:
    overdue: list[OverdueLetter] = field(default_factory=list)
    urges: DraftRun = field(default_factory=DraftRun)

    def lines(self, today: date) -> list[str]:
        if not self.overdue:
            return [f"截至 {today.isoformat()}，没有逾期未复的函件。"]
        out = [f"截至 {today.isoformat()}，逾期未复的函件 {len(self.overdue)} 件："]
        for o in self.overdue:
            letter = o.letter
            due = letter.due_on.isoformat() if letter.due_on else "-"
            mark = "（本次标记）" if o.newly_marked else ""
            out.append(
                f"  {letter.letter_no}  {letter.kind_label}  {letter.unit}  答复期限 {due}，"
                f"已逾期 {o.days_overdue} 天{mark}"
            )
        if self.urges.letters:
            out.extend(self.urges.lines())
        else:
            out.append("无需新起草催办函（逾期函件均已有未办结的催办函，或本身即为催办函）。")
        return out


def flag_overdue(
    warehouse: Path,
    today: date,
    settings: Settings,
    *,
    out_dir: Path | None = None,
    options: DraftOptions | None = None,
) -> OverdueRun:
    """Mark letters past their deadline as overdue and draft a 催办函 for each."""
    options = options or letters.options_from_settings(settings)
    with db.write_transaction(warehouse) as con:
        overdue = letters.mark_overdue(con, today, actor=options.who)
        planned = letters.plan_urge_letters(con, today)
        drafts = letters.save_drafts(con, planned.plans, settings=settings, options=options)
    target = out_dir or letters.default_letters_dir(settings, (options.letter_date or today).year)
    rendered = _render_and_save(warehouse, drafts, target, options)
    return OverdueRun(overdue, DraftRun(rendered, planned.notes))


@dataclass
class SupervisionReport:
    as_of: date
    year: int
    status_counts: dict[status_engine.Status, int]
    drafted: DraftRun
    overdue: OverdueRun

    def lines(self) -> list[str]:
        counts = "，".join(
            f"{status_engine.STATUS_LABELS[s]} {n}" for s, n in self.status_counts.items() if n
        )
        return [
            f"{self.year} 年项目进度评估（{self.as_of.isoformat()}）：{counts or '无项目'}。",
            *self.drafted.lines(),
            *self.overdue.lines(self.as_of),
        ]


def run_daily_supervision(
    warehouse: Path,
    as_of: date,
    settings: Settings,
    *,
    year: int | None = None,
    out_dir: Path | None = None,
    options: DraftOptions | None = None,
) -> SupervisionReport:
    """The daily run: status of ``as_of``, new letters, overdue replies and their 催办函."""
    year = year or as_of.year
    options = options or letters.options_from_settings(settings, actor="supervision")
    db.init_warehouse(warehouse)  # brings an older warehouse up to the letters schema
    statuses = fetch_status(warehouse, year, as_of, settings)
    save_statuses(warehouse, year, as_of, statuses)
    counts = status_engine.status_counts(statuses)
    drafted = draft_letters(warehouse, year, as_of, settings, out_dir=out_dir, options=options)
    overdue = flag_overdue(warehouse, as_of, settings, out_dir=out_dir, options=options)
    return SupervisionReport(as_of, year, counts, drafted, overdue)


@dataclass
class PushSummary:
    outcomes: list[PushOutcome] = field(default_factory=list)

    @property
    def pushed(self) -> int:
        return sum(1 for o in self.outcomes if o.ok)

    @property
    def failed(self) -> list[PushOutcome]:
        return [o for o in self.outcomes if not o.ok]

    def lines(self) -> list[str]:
        if not self.outcomes:
            return ["没有需要推送的办理结果（民意直通车事项均已推送，或相关函件尚未回复）。"]
        out = [f"已向民意直通车推送办理结果 {self.pushed} 条，失败 {len(self.failed)} 条。"]
        out.extend(
            f"  失败：意见 {o.item.source_id}（{o.item.letter_no}），尝试 {o.attempts} 次：{o.error}"
            for o in self.failed
        )
        if self.failed:
            out.append("  失败的事项会在下次运行 `letters push-results` 时重试。")
        return out


def push_results(
    warehouse: Path,
    base_url: str,
    token: str | None,
    *,
    policy: PushPolicy | None = None,
    batch_size: int = 50,
    session: requests.Session | None = None,
) -> PushSummary:
    """Push the units' answers to the 民意直通车 items they cover (closing the loop).

    Reads what is pending on a read-only connection, posts with no connection open, and records
    each batch in a short write transaction. A crash between a post and its record only means
    the item is posted again next time, which the server treats as a no-op.
    """
    with db.read_connection(warehouse) as con:
        pending = letters.pending_result_pushes(con)
    summary = PushSummary()
    own = session is None
    http = session or requests.Session()
    try:
        for start in range(0, len(pending), batch_size):
            outcomes = [
                letters.push_result(http, base_url, token, item, policy=policy)
                for item in pending[start : start + batch_size]
            ]
            with db.write_transaction(warehouse) as con:
                letters.save_push_outcomes(con, outcomes)
            summary.outcomes.extend(outcomes)
    finally:
        if own:
            http.close()
    return summary
