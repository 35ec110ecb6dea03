"""An editor's decision about which project a resident's message concerns.

A decision is a new ``feedback_matches`` row (``method='manual'``, ``rank=1``) — earlier rows stay,
so every decision can be traced. Readers pick the newest manual decision over the classifier's
(see ``warehouse/queries/status_feedback.sql``), and the classifier can learn from manual rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from livelihood_monitor import db
from livelihood_monitor.users import User

SHANGHAI = ZoneInfo("Asia/Shanghai")
MANUAL_CONFIDENCE = 1.0


class CorrectionError(ValueError):
    """The correction cannot be saved; the message is Chinese, for the user."""


@dataclass(frozen=True)
class Correction:
    feedback_id: int
    year: int
    project_code: str | None
    decided_by: str


def record_correction(
    warehouse: Path,
    feedback_id: int,
    project_code: str | None,
    user: User,
    *,
    year: int | None = None,
) -> Correction:
    """Save ``user``'s decision that ``feedback_id`` concerns ``project_code`` (None: no project).

    Only editors may decide. ``year`` defaults to the year of the message's latest match, else the
    year it was submitted (Asia/Shanghai). Runs in one short write transaction, so a flow writing
    at the same time only waits for it briefly.
    """
    if not user.can_edit:
        raise PermissionError(f"用户 {user.name} 为只读账号，不能更正归类。")
    code = project_code.strip() if project_code else None
    with db.write_transaction(warehouse) as con:
        row = con.execute(
            "SELECT coalesce(submitted_at, ingested_at) FROM feedback WHERE feedback_id = ?",
            [feedback_id],
        ).fetchone()
        if row is None:
            raise CorrectionError(f"找不到编号为 {feedback_id} 的群众意见。")
        if year is None:
            latest = con.execute(
                "SELECT year FROM feedback_matches WHERE feedback_id = ? "
                "ORDER BY decided_at DESC LIMIT 1",
                [feedback_id],
            ).fetchone()
            submitted: datetime = row[0]
            year = int(latest[0]) if latest else submitted.astimezone(SHANGHAI).year
        if code is not None:
            known = con.execute(
                "SELECT 1 FROM projects WHERE year = ? AND code = ?", [year, code]
            ).fetchone()
            if known is None:
                raise CorrectionError(f"{year} 年项目清单中没有编号为 {code} 的项目。")
        # message_type, matched_terms stay NULL: readers keep the classifier's for those.
        con.execute(
            "INSERT INTO feedback_matches (feedback_id, year, project_code, confidence, rank, "
            "method, decided_by, decided_at) VALUES (?, ?, ?, ?, 1, 'manual', ?, ?)",
            [feedback_id, year, code, MANUAL_CONFIDENCE, user.name, datetime.now(SHANGHAI)],
        )
    return Correction(feedback_id, year, code, user.name)
