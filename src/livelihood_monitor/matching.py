"""Classification inside the warehouse: match new feedback to the year's projects.

Reading, classifying and saving are separate steps, so no connection is open while the CPU-heavy
classification runs and the dashboard can read between batches. Supervisors' manual decisions
are read back as examples: every run learns from the corrections made so far.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

import pandas as pd

from livelihood_monitor import db
from livelihood_monitor.classify import (
    NONE,
    Classification,
    Classifier,
    Example,
    classifier_for_projects,
)
from livelihood_monitor.hot_issues import Message, group_hot_issues
from livelihood_monitor.registry import Project, load_projects

BATCH_ROWS = 5000
MATCH_COLUMNS = [
    "feedback_id",
    "year",
    "project_code",
    "confidence",
    "rank",
    "method",
    "matched_terms",
    "message_type",
    "urgency",
    "decided_by",
    "text_urgency",
]
REPEAT_WINDOW_DAYS = 30
REPEAT_MIN_REPORTS = 3  # this many near-duplicate reports raise urgency by one


@dataclass
class MatchRunSummary:
    year: int
    classified: int = 0
    matched: int = 0
    none: int = 0
    corrections_used: int = 0

    def summary(self) -> str:
        return (
            f"{self.year} 年新归类 {self.classified} 条群众意见：归入项目 {self.matched} 条，"
            f"不属于任何项目 {self.none} 条（参考人工更正 {self.corrections_used} 条）"
        )


def load_corrections(con: db.Connection, year: int) -> list[Example]:
    rows = con.execute(db.load_sql("queries/matching_corrections.sql"), {"year": year}).fetchall()
    return [Example(text, code or NONE) for text, code in rows]


def build_classifier(con: db.Connection, year: int) -> tuple[Classifier, int]:
    """The year's classifier: registry + lexicon + the supervisors' corrections so far.
    Built once per distinct registry and set of corrections in a process, so parallel chunks of
    one run share it."""
    projects = tuple(load_projects(con, year))
    if not projects:
        raise LookupError(
            f"{year} 年尚未导入民生实事项目清单，无法归类：请先运行 registry import。"
        )
    corrections = tuple(load_corrections(con, year))
    return _cached_classifier(projects, corrections), len(corrections)


@lru_cache(maxsize=2)
def _cached_classifier(
    projects: tuple[Project, ...], corrections: tuple[Example, ...]
) -> Classifier:
    return classifier_for_projects(projects, examples=corrections)


def fetch_unmatched(
    con: db.Connection,
    year: int,
    after: int = 0,
    limit: int = BATCH_ROWS,
    until: int | None = None,
) -> list[tuple[int, str]]:
    """Unmatched feedback with ``after < feedback_id <= until``, oldest first."""
    sql = db.load_sql("queries/matching_unmatched.sql")
    params = {"year": year, "after": after, "limit": limit, "until": until or 2**62}
    return [(int(i), t) for i, t in con.execute(sql, params).fetchall()]


def unmatched_id_range(warehouse: Path, year: int) -> tuple[int, int] | None:
    """Smallest and largest id of unmatched feedback: what a parallel run splits into chunks."""
    with db.read_connection(warehouse) as con:
        row = con.execute(
            db.load_sql("queries/matching_unmatched_range.sql"), {"year": year}
        ).fetchone()
    return (int(row[0]), int(row[1])) if row and row[0] is not None else None


def match_rows(feedback_id: int, year: int, result: Classification) -> list[list[object]]:
    """feedback_matches rows for one decision: the chosen project(s) at rank 1 (or a NULL
    project when none), the other candidates after it."""
    terms = ";".join(result.matched_terms)
    common: list[object] = ["auto"]
    rows: list[list[object]]
    if result.code is None:
        rows = [[feedback_id, year, None, result.confidence, 1, *common, terms]]
    else:
        rows = [[feedback_id, year, result.code, result.confidence, 1, *common, terms]]
        rows += [[feedback_id, year, code, 0.0, 1, *common, ""] for code in result.also]
    rank = 2
    chosen = {result.code, *result.also}
    for code, score in result.candidates:
        if code != NONE and code not in chosen:
            rows.append([feedback_id, year, code, score, rank, *common, ""])
            rank += 1
    return [
        [*row, result.message_type, result.urgency, "classifier", result.urgency] for row in rows
    ]


def save_matches(con: db.Connection, rows: list[list[object]]) -> None:
    if not rows:
        return
    frame = pd.DataFrame(rows, columns=MATCH_COLUMNS)
    with db.registered(con, "new_matches", frame):
        # A re-classified (edited) message replaces the classifier's earlier decision; manual
        # decisions stay.
        con.execute(
            "DELETE FROM feedback_matches WHERE method = 'auto' AND (feedback_id, year) IN "
            "(SELECT DISTINCT feedback_id, year FROM new_matches)"
        )
        con.execute(
            f"INSERT INTO feedback_matches ({', '.join(MATCH_COLUMNS)}) "
            f"SELECT {', '.join(MATCH_COLUMNS)} FROM new_matches"
        )


def classify_new_feedback(
    warehouse: Path,
    year: int,
    *,
    batch_rows: int = BATCH_ROWS,
    on_batch: Callable[[MatchRunSummary], None] | None = None,
    id_range: tuple[int, int] | None = None,
) -> MatchRunSummary:
    """Classify every unmatched message of ``year`` (within ``id_range`` when given, so chunks
    can run in parallel), batch by batch; safe to re-run."""
    with db.read_connection(warehouse) as con:
        classifier, corrections = build_classifier(con, year)
    summary = MatchRunSummary(year, corrections_used=corrections)
    after, until = (id_range[0] - 1, id_range[1]) if id_range else (0, None)
    while True:
        with db.read_connection(warehouse) as con:
            batch = fetch_unmatched(con, year, after, batch_rows, until)
        if not batch:
            return summary
        rows: list[list[object]] = []
        for feedback_id, text in batch:
            result = classifier.classify_normalised(text)
            rows.extend(match_rows(feedback_id, year, result))
            summary.classified += 1
            if result.code:
                summary.matched += 1
            else:
                summary.none += 1
        with db.write_transaction(warehouse) as con:
            save_matches(con, rows)
        after = batch[-1][0]
        if on_batch is not None:
            on_batch(summary)


def flag_repeated_reports(
    warehouse: Path,
    year: int,
    *,
    window_days: int = REPEAT_WINDOW_DAYS,
    min_reports: int = REPEAT_MIN_REPORTS,
) -> int:
    """Group the year's recent matched messages into hot issues and store each message's
    repeat count; messages in a group of ``min_reports`` or more get urgency + 1 (max 3).
    Idempotent: urgency is recomputed from the text's own urgency. Returns messages raised."""
    with db.read_connection(warehouse) as con:
        classifier, _ = build_classifier(con, year)
        newest = con.execute(
            "SELECT max(f.submitted_at) FROM feedback AS f JOIN feedback_matches AS m "
            "USING (feedback_id) WHERE m.year = ? AND m.method = 'auto'",
            [year],
        ).fetchone()
        if not newest or newest[0] is None:
            return 0
        since = newest[0] - timedelta(days=window_days)
        rows = con.execute(
            db.load_sql("queries/matching_recent_matched.sql"), {"year": year, "since": since}
        ).fetchall()
    messages = [
        Message(str(fid), code, frozenset(classifier.tokens(text)), text, at, int(likes), place)
        for fid, code, text, at, likes, place in rows
    ]
    # A message matched to two projects sits in a group of each: it counts as often as its
    # larger group says (a dict comprehension would keep whichever group came last).
    counts: dict[int, int] = {}
    for issue in group_hot_issues(messages):
        for mid in issue.message_ids:
            counts[int(mid)] = max(counts.get(int(mid), 0), issue.count)
    if not counts:
        return 0
    frame = pd.DataFrame({"feedback_id": list(counts), "repeat_count": list(counts.values())})
    with db.write_transaction(warehouse) as con, db.registered(con, "repeats", frame):
        con.execute(
            db.load_sql("queries/matching_flag_repeats.sql"),
            {"year": year, "min_reports": min_reports},
        )
    return sum(1 for n in counts.values() if n >= min_reports)
