"""The status engine of issue 5: every rule at its boundaries, the warehouse run, the command."""

from __future__ import annotations

import argparse
import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from livelihood_monitor import db, status
from livelihood_monitor.cli_status import CSV_COLUMNS, cmd_status
from livelihood_monitor.config import Settings, load_settings
from livelihood_monitor.db import Connection
from livelihood_monitor.registry import Project
from livelihood_monitor.status import (
    CheckpointConfig,
    FeedbackItem,
    Milestone,
    ProgressReport,
    StatusThresholds,
    checkpoint_for,
    classify_status,
    expected_pct,
)

JAN1, DEC31 = date(2025, 1, 1), date(2025, 12, 31)
T = StatusThresholds()
STALLED = ("停工", "没开工", "质量差")


def project(code: str = "JY01", **kw: Any) -> Project:
    values: dict[str, Any] = {
        "year": 2025,
        "code": code,
        "category": "教育发展",
        "name": "建设一批优质学校",
        "target": "新建学校6所",
        "target_value": 6.0,
        "target_unit": "所",
        "unit": "市教育局",
        "start_date": JAN1,
        "due_date": DEC31,
    }
    values.update(kw)
    return Project(**values)


# --- 时序进度 ---------------------------------------------------------------------------------


def test_linear_expected_is_half_on_july_2_of_a_calendar_year() -> None:
    assert expected_pct(JAN1, DEC31, date(2025, 7, 2)) == 50.0
    assert expected_pct(JAN1, DEC31, date(2025, 4, 1)) == pytest.approx(100 * 90 / 364)


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        (date(2024, 12, 31), 0.0),  # before the start
        (JAN1, 0.0),
        (DEC31, 100.0),
        (date(2026, 2, 1), 100.0),  # after the due date: clamped
    ],
)
def test_linear_expected_is_clamped(as_of: date, expected: float) -> None:
    assert expected_pct(JAN1, DEC31, as_of) == expected


def test_project_starting_late_expects_nothing_before_its_start() -> None:
    start, due = date(2025, 7, 1), date(2025, 9, 30)
    assert expected_pct(start, due, date(2025, 6, 30)) == 0.0
    assert expected_pct(start, due, date(2025, 8, 15)) == pytest.approx(100 * 45 / 91)
    assert expected_pct(start, start, start) == 100.0  # a one-day project is due that day


PLAN = [
    Milestone(date(2025, 3, 31), 10.0),
    Milestone(date(2025, 6, 30), 60.0),
    Milestone(date(2025, 9, 30), 100.0),
]


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        (date(2024, 12, 1), 0.0),
        (JAN1, 0.0),
        (date(2025, 2, 14), 10.0 * 44 / 89),  # from 0 at the start to the first milestone
        (date(2025, 3, 31), 10.0),  # exactly on a milestone
        (date(2025, 5, 15), 10.0 + 50.0 * 45 / 91),
        (date(2025, 6, 30), 60.0),
        (date(2025, 9, 30), 100.0),
        (date(2025, 11, 1), 100.0),  # plan done before the due date
    ],
)
def test_milestone_plan_is_interpolated(as_of: date, expected: float) -> None:
    assert expected_pct(JAN1, DEC31, as_of, PLAN) == pytest.approx(expected)


def test_plan_short_of_100_runs_on_to_the_due_date() -> None:
    plan = [Milestone(date(2025, 6, 30), 40.0)]
    assert expected_pct(JAN1, DEC31, date(2025, 6, 30), plan) == 40.0
    assert expected_pct(JAN1, DEC31, date(2025, 9, 30), plan) == pytest.approx(40 + 60 * 92 / 184)
    assert expected_pct(JAN1, DEC31, DEC31, plan) == 100.0


def test_plan_differs_from_the_straight_line() -> None:
    # A back-loaded plan (tendering first) expects far less mid-year than the straight line.
    plan = [Milestone(date(2025, 6, 30), 20.0), Milestone(date(2025, 11, 30), 100.0)]
    assert expected_pct(JAN1, DEC31, date(2025, 7, 2)) == 50.0
    assert expected_pct(JAN1, DEC31, date(2025, 7, 2), plan) < 25.0


def test_duplicate_milestone_dates_keep_the_higher_pct() -> None:
    plan = [Milestone(date(2025, 6, 30), 30.0), Milestone(date(2025, 6, 30), 50.0)]
    assert expected_pct(JAN1, DEC31, date(2025, 6, 30), plan) == 50.0


# --- status rules ---------------------------------------------------------------------------

AS_OF = date(2025, 7, 2)
FRESH = date(2025, 6, 30)


@pytest.mark.parametrize(
    ("reported", "expected_status"),
    [
        (100.0, "completed"),  # exactly 100
        (99.9, "ahead"),
        (60.0, "ahead"),  # gap exactly +10
        (59.9, "on_track"),
        (50.0, "on_track"),  # gap exactly 0
        (49.9, "behind"),
        (35.0, "behind"),  # gap exactly -15
        (34.9, "seriously_behind"),
        (0.0, "seriously_behind"),
    ],
)
def test_gap_boundaries(reported: float, expected_status: str) -> None:
    assert classify_status(50.0, reported, FRESH, AS_OF, T) == expected_status


def test_report_exactly_45_days_old_still_counts_46_does_not() -> None:
    assert classify_status(50.0, 50.0, AS_OF - timedelta(days=45), AS_OF, T) == "on_track"
    assert classify_status(50.0, 50.0, AS_OF - timedelta(days=46), AS_OF, T) == "missing"


def test_no_report_is_missing() -> None:
    assert classify_status(50.0, None, None, AS_OF, T) == "missing"
    assert classify_status(0.0, None, None, JAN1, T) == "missing"


def test_completed_comes_before_missing() -> None:
    # A project finished in spring does not turn 未填报 when its unit stops reporting.
    assert classify_status(90.0, 100.0, date(2025, 4, 1), date(2025, 10, 1), T) == "completed"
    assert classify_status(90.0, 120.0, FRESH, AS_OF, T) == "completed"


def test_float_noise_does_not_move_a_boundary() -> None:
    assert 16.4 - 6.4 < 10 and 1.1 - 16.1 < -15  # what floats make of these differences
    assert classify_status(6.4, 16.4, FRESH, AS_OF, T) == "ahead"
    assert classify_status(16.1, 1.1, FRESH, AS_OF, T) == "behind"


def test_thresholds_are_configuration() -> None:
    strict = StatusThresholds(ahead_gap=5.0, behind_gap=-5.0, stale_after_days=30)
    assert classify_status(50.0, 55.0, FRESH, AS_OF, strict) == "ahead"
    assert classify_status(50.0, 44.0, FRESH, AS_OF, strict) == "seriously_behind"
    assert classify_status(50.0, 50.0, AS_OF - timedelta(days=31), AS_OF, strict) == "missing"


def test_thresholds_out_of_order_are_refused() -> None:
    with pytest.raises(ValueError, match="behind_gap"):
        StatusThresholds(ahead_gap=-20.0)


def test_thresholds_and_checkpoints_load_from_the_settings_file(tmp_path: Path) -> None:
    path = tmp_path / "livelihood-monitor.toml"
    path.write_text(
        "[livelihood_monitor]\nyear = 2025\n\n[livelihood_monitor.status]\n"
        'stale_after_days = 60\nahead_gap = 12.5\nconflict_min_complaints = 3\nmid_from = "05-01"\n',
        encoding="utf-8",
    )
    thresholds, checkpoints = status.status_config(load_settings(path))
    assert thresholds.stale_after_days == 60 and thresholds.ahead_gap == 12.5
    assert thresholds.conflict_min_complaints == 3
    assert thresholds.behind_gap == -15.0  # untouched keys keep the issue's values
    assert checkpoints == CheckpointConfig(mid_from=(5, 1), end_from=(10, 1))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"ahed_gap": 10}, "无法识别"),
        ({"stale_after_days": 45.5}, "整数"),
        ({"ahead_gap": "10"}, "数字"),
        ({"mid_from": "02-30"}, "月-日"),
        ({"mid_from": "11-01"}, "早于"),
    ],
)
def test_bad_status_settings_are_refused(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        status.status_config(Settings(extra={"status": raw}))


def test_default_settings_are_the_issue_values() -> None:
    thresholds, checkpoints = status.status_config(Settings())
    assert thresholds == StatusThresholds()
    assert (thresholds.completed_pct, thresholds.stale_after_days) == (100.0, 45)
    assert (thresholds.ahead_gap, thresholds.on_track_gap, thresholds.behind_gap) == (10, 0, -15)
    assert (thresholds.conflict_reported_pct, thresholds.conflict_min_complaints) == (80.0, 2)
    assert checkpoints == CheckpointConfig()


# --- checkpoints ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("as_of", "checkpoint"),
    [
        (JAN1, "start"),
        (date(2025, 3, 31), "start"),
        (date(2025, 4, 1), "mid"),
        (date(2025, 9, 30), "mid"),
        (date(2025, 10, 1), "end"),
        (DEC31, "end"),
    ],
)
def test_checkpoint_boundaries(as_of: date, checkpoint: str) -> None:
    assert checkpoint_for(as_of, CheckpointConfig()) == checkpoint


def test_checkpoints_are_configurable_and_follow_the_project_year() -> None:
    config = CheckpointConfig(mid_from=(7, 1), end_from=(11, 15))
    assert checkpoint_for(date(2025, 6, 30), config) == "start"
    assert checkpoint_for(date(2025, 11, 14), config) == "mid"
    assert checkpoint_for(date(2025, 11, 15), config) == "end"
    # January's review of last year's list is still 年末 for that list.
    assert checkpoint_for(date(2026, 1, 15), config, year=2025) == "end"
    assert checkpoint_for(date(2024, 12, 20), config, year=2025) == "start"


def test_chinese_labels() -> None:
    assert [status.STATUS_LABELS[s] for s in status.STATUSES] == [
        "已完成",
        "未填报",
        "超时序",
        "符合时序",
        "滞后",
        "严重滞后",
    ]
    assert [status.CHECKPOINT_LABELS[c] for c in status.CHECKPOINTS] == ["年初", "年中", "年末"]


# --- reports, plan and result ---------------------------------------------------------------


def test_latest_report_on_or_before_the_date() -> None:
    reports = [
        ProgressReport(date(2025, 3, 31), 10.0),
        ProgressReport(date(2025, 6, 30), 55.0),
        ProgressReport(date(2025, 7, 15), 70.0),  # after as_of: not known yet
        ProgressReport(date(2025, 7, 1), None, 3.0),  # no percentage
    ]
    assert status.latest_report(reports, AS_OF) == reports[1]
    assert status.latest_report(reports, date(2025, 7, 15)) == reports[2]  # the day itself counts
    assert status.latest_report(reports, date(2025, 3, 30)) is None


def test_same_day_reports_the_later_received_wins() -> None:
    early = datetime(2025, 7, 1, 9, tzinfo=UTC)
    late = datetime(2025, 7, 1, 15, tzinfo=UTC)
    corrected = ProgressReport(FRESH, 48.0, received_at=late)
    first = ProgressReport(FRESH, 58.0, received_at=early)
    assert status.latest_report([corrected, first], AS_OF) == corrected


def test_plan_check_lists_what_is_missing() -> None:
    assert status.plan_gaps(project(), PLAN) == ()
    gaps = status.plan_gaps(project(target_value=None, target_unit=None), [])
    assert gaps == ("target_value", "target_unit", "milestones")
    assert status.plan_item_labels(gaps) == ["目标值", "计量单位", "进度计划（里程碑）"]


def test_result_check_compares_the_final_value_with_the_target() -> None:
    reports = [ProgressReport(date(2025, 9, 30), 80.0, 5.0), ProgressReport(DEC31, 100.0, 6.0)]
    assert status.result_check(6.0, reports, DEC31) == status.ResultCheck(6.0, 6.0, 100.0, True)
    before = status.result_check(6.0, reports, date(2025, 12, 1))
    assert (before.final_value, before.met, before.achieved_pct) == (5.0, False, 83.3)
    assert status.result_check(None, reports, DEC31).met is None
    assert status.result_check(6.0, [ProgressReport(DEC31, 100.0)], DEC31).met is None


def test_completed_value_only_report_is_read_against_the_target() -> None:
    result = status.evaluate_project(
        project(target_value=85.0), AS_OF, [ProgressReport(FRESH, None, 42.5)]
    )
    assert (result.reported_pct, result.gap_pct, result.status) == (50.0, 0.0, "on_track")


def test_evaluate_project_rounds_before_classifying() -> None:
    # Expected on Apr 1 is 24.725..., shown as 24.7; reported 9.7 is then a gap of exactly -15.
    result = status.evaluate_project(
        project(), date(2025, 4, 1), [ProgressReport(date(2025, 3, 31), 9.7)]
    )
    assert (result.expected_pct, result.gap_pct, result.status) == (24.7, -15.0, "behind")
    assert result.checkpoint == "mid" and result.checkpoint_label == "年中"


# --- residents' signal ----------------------------------------------------------------------


def fb(fid: int, days_ago: int, kind: str | None, text: str, terms: str = "") -> FeedbackItem:
    return FeedbackItem(fid, AS_OF - timedelta(days=days_ago), kind, text, tuple(terms.split()))


STALLED_PAIR = [
    fb(1, 3, "complaint", "学校工地停工两个月了", "学校 工地"),
    fb(2, 10, "complaint", "说是建好了，其实根本没开工", "学校"),
]


def test_conflict_when_unit_reports_80_and_two_complaints_say_stalled() -> None:
    signal = status.resident_signal(STALLED_PAIR, AS_OF, 80.0, STALLED, T)
    assert signal.conflict is True
    assert signal.stalled_complaints_30d == 2 and signal.stalled_feedback_ids == (1, 2)
    assert signal.hot_terms[0] == "学校"


@pytest.mark.parametrize(
    ("items", "reported"),
    [
        (STALLED_PAIR, 79.9),  # the unit does not claim near-completion
        (STALLED_PAIR, None),  # no report at all
        (STALLED_PAIR[:1], 95.0),  # one complaint is not a pattern
        # The same words outside complaints (a question, a suggestion) do not count.
        ([STALLED_PAIR[0], fb(3, 2, "inquiry", "听说停工了？什么时候复工")], 95.0),
        ([STALLED_PAIR[0], fb(4, 2, "suggestion", "建议别再停工")], 95.0),
        # Complaints about something else (noise, fees) do not say the work is stalled.
        ([STALLED_PAIR[0], fb(5, 2, "complaint", "施工噪音太大晚上睡不着")], 95.0),
        # 30 days ago is outside the window (today and the 29 days before).
        ([STALLED_PAIR[0], fb(6, 30, "complaint", "还是停工状态")], 95.0),
    ],
)
def test_no_conflict(items: list[FeedbackItem], reported: float | None) -> None:
    assert status.resident_signal(items, AS_OF, reported, STALLED, T).conflict is False


def test_window_counts_29_days_back_and_nothing_after_as_of() -> None:
    items = [
        fb(1, 0, "complaint", "停工"),
        fb(2, 29, "complaint", "停工"),
        fb(3, 30, "complaint", "停工"),
        fb(4, -1, "complaint", "停工"),  # submitted after as_of: unknown at that date
        fb(5, 5, "praise", "学校建得真好"),
    ]
    signal = status.resident_signal(items, AS_OF, 90.0, STALLED, T)
    assert (signal.feedback_30d, signal.complaints_30d) == (3, 2)
    assert signal.complaint_share == pytest.approx(2 / 3, abs=1e-4)
    assert signal.conflict is True
    assert status.resident_signal([], AS_OF, 90.0, STALLED, T).complaint_share is None


def test_conflict_thresholds_are_configuration() -> None:
    lenient = StatusThresholds(conflict_reported_pct=70.0, conflict_min_complaints=1)
    assert status.resident_signal(STALLED_PAIR[:1], AS_OF, 70.0, STALLED, lenient).conflict
    strict = StatusThresholds(conflict_min_complaints=3)
    assert not status.resident_signal(STALLED_PAIR, AS_OF, 100.0, STALLED, strict).conflict


def test_stalled_terms_come_from_the_lexicon(tmp_path: Path) -> None:
    path = tmp_path / "message_types.toml"
    assert status.load_stalled_terms(path) == status.DEFAULT_STALLED_TERMS  # no file
    path.write_text('[types.complaint]\nterms = ["投诉"]\n', encoding="utf-8")
    assert status.load_stalled_terms(path) == status.DEFAULT_STALLED_TERMS  # no [stalled]
    path.write_text('[stalled]\nterms = ["搁置", " 不见动工 ", "搁置"]\n', encoding="utf-8")
    assert status.load_stalled_terms(path) == ("搁置", "不见动工")
    path.write_text("[stalled]\nterms = [1]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="stalled"):
        status.load_stalled_terms(path)


def test_default_terms_catch_the_three_kinds() -> None:
    for text in ("三个月了还没开工", "工程停工了", "路面质量差到处开裂"):
        item = FeedbackItem(1, AS_OF, "complaint", text)
        assert status.is_stalled_complaint(item, status.DEFAULT_STALLED_TERMS), text


# --- warehouse ------------------------------------------------------------------------------


def add_projects(con: Connection, rows: list[tuple[str, str, float | None, str]]) -> None:
    con.execute(
        "INSERT INTO registry_imports (year, version, file_name, file_sha256, project_count) "
        "VALUES (2025, 1, 'test.csv', 'x', ?)",
        [len(rows)],
    )
    for code, name, target_value, unit in rows:
        con.execute(
            "INSERT INTO project_registry (year, version, code, category, name, target, "
            "target_value, target_unit, unit, start_date, due_date) "
            "VALUES (2025, 1, ?, '城市建设', ?, ?, ?, '个', ?, DATE '2025-01-01', DATE '2025-12-31')",
            [code, name, f"{name}目标", target_value, unit],
        )


def add_report(
    con: Connection, code: str, on: str, pct: float | None, value: float | None = None
) -> None:
    con.execute(
        "INSERT INTO progress_reports (year, project_code, report_date, progress_pct, "
        "completed_value, source, source_id) VALUES (2025, ?, ?, ?, ?, 'test', ?)",
        [code, on, pct, value, f"{code}-{on}-{pct}"],
    )


def add_feedback(con: Connection, fid: int, at: datetime, text: str) -> None:
    con.execute(
        "INSERT INTO feedback (feedback_id, source, source_id, channel, submitted_at, text_raw, "
        "text, content_hash) VALUES (?, 'test', ?, 'observation_point', ?, ?, ?, ?)",
        [fid, str(fid), at, text, text, str(fid)],
    )


def add_match(
    con: Connection,
    fid: int,
    code: str | None,
    *,
    rank: int = 1,
    method: str = "auto",
    kind: str | None = "complaint",
    at: str = "2025-07-01 08:00:00+00",
    terms: str | None = None,
) -> None:
    con.execute(
        "INSERT INTO feedback_matches (feedback_id, year, project_code, confidence, rank, method, "
        "matched_terms, message_type, decided_at) VALUES (?, 2025, ?, 0.9, ?, ?, ?, ?, ?)",
        [fid, code, rank, method, terms, kind, at],
    )


def seed(con: Connection) -> None:
    """Four projects: one near done with residents saying it stopped, one lagging, one silent,
    one done."""
    add_projects(
        con,
        [
            ("CS01", "老旧小区改造", 50.0, "市住房和城乡建设局"),
            ("CS02", "新建口袋公园", 20.0, "市园林局"),
            ("CS03", "加装电梯", 100.0, "市住房和城乡建设局"),
            ("CS04", "农贸市场改造", 10.0, "市商务局"),
        ],
    )
    add_report(con, "CS01", "2025-03-31", 20.0)
    add_report(con, "CS01", "2025-06-30", 85.0)
    add_report(con, "CS02", "2025-06-28", 30.0)
    add_report(con, "CS03", "2025-04-30", 40.0)  # 63 days before Jul 2: stale
    add_report(con, "CS04", "2025-05-31", None, 10.0)  # only a completed value: 10 of 10
    day = datetime(2025, 6, 20, 2, tzinfo=UTC)
    add_feedback(con, 1, day, "小区改造说是快完了，其实已经停工一个月")
    add_feedback(con, 2, day, "改造工程质量差，墙皮脱落")
    add_feedback(con, 3, day, "公园什么时候开放")
    add_feedback(con, 4, day, "电梯安装停工了")
    add_feedback(con, 5, day, "市场改造后很方便")
    add_feedback(con, 6, datetime(2025, 5, 1, tzinfo=UTC), "小区改造停工")  # too old
    add_match(con, 1, "CS01", terms="老旧小区;改造")
    add_match(con, 1, "CS02", rank=2)  # a runner-up never counts
    # The classifier sent 2 to the park; an editor moved it to CS01, then (later) confirmed it.
    add_match(con, 2, "CS02", terms="改造")
    add_match(con, 2, "CS03", method="manual", kind=None, at="2025-07-01 09:00:00+00")
    add_match(con, 2, "CS01", method="manual", kind=None, at="2025-07-01 10:00:00+00")
    add_match(con, 3, "CS02", kind="inquiry", terms="公园")
    # The classifier put 4 on CS03; an editor decided it concerns none of the projects.
    add_match(con, 4, "CS03")
    add_match(con, 4, None, method="manual", at="2025-07-01 12:00:00+00")
    add_match(con, 5, "CS04", kind="praise")
    add_match(con, 6, "CS01")


def by_code(rows: list[status.ProjectStatus]) -> dict[str, status.ProjectStatus]:
    return {r.code: r for r in rows}


def test_compute_status_reads_the_warehouse(con: Connection) -> None:
    seed(con)
    rows = by_code(status.compute_status(con, 2025, AS_OF, stalled_terms=STALLED))
    assert list(rows) == ["CS01", "CS02", "CS03", "CS04"]
    cs01, cs02, cs03, cs04 = rows["CS01"], rows["CS02"], rows["CS03"], rows["CS04"]
    assert (cs01.expected_pct, cs01.reported_pct, cs01.gap_pct) == (50.0, 85.0, 35.0)
    assert cs01.status == "ahead" and cs01.report_date == date(2025, 6, 30)
    # 1 (auto) and 2 (the latest manual decision) are complaints saying stopped / poor quality.
    assert (cs01.feedback_30d, cs01.signal.stalled_complaints_30d, cs01.conflict) == (2, 2, True)
    assert cs01.signal.hot_terms == ("改造", "老旧小区")  # 2 keeps no terms from the park match
    assert (cs02.status, cs02.gap_pct, cs02.feedback_30d) == ("seriously_behind", -20.0, 1)
    assert cs02.signal.complaints_30d == 0  # an inquiry
    assert (cs03.status, cs03.feedback_30d) == ("missing", 0)  # 4 was moved to no project
    assert (cs04.reported_pct, cs04.status, cs04.result.met) == (100.0, "completed", True)
    assert all(r.checkpoint == "mid" and r.plan_missing == ("milestones",) for r in rows.values())

    stored = con.execute(
        "SELECT project_code, checkpoint, expected_pct, reported_pct, gap_pct, status, "
        "feedback_30d, conflict, complaints_30d, stalled_complaints_30d, plan_missing "
        "FROM project_status WHERE year = 2025 AND as_of = ? ORDER BY project_code",
        [AS_OF],
    ).fetchall()
    assert stored[0] == ("CS01", "mid", 50.0, 85.0, 35.0, "ahead", 2, True, 2, 2, ["milestones"])
    assert [r[5] for r in stored] == ["ahead", "seriously_behind", "missing", "completed"]


def test_feedback_dates_are_shanghai_dates(con: Connection) -> None:
    add_projects(con, [("CS01", "老旧小区改造", 50.0, "市住房和城乡建设局")])
    add_report(con, "CS01", "2025-06-30", 90.0)
    # 16:30 UTC on Jul 2 is already Jul 3 in Shanghai: after the as-of date.
    add_feedback(con, 1, datetime(2025, 7, 2, 16, 30, tzinfo=UTC), "停工了")
    add_feedback(con, 2, datetime(2025, 7, 2, 15, 30, tzinfo=UTC), "停工了")
    add_match(con, 1, "CS01")
    add_match(con, 2, "CS01")
    [row] = status.compute_status(con, 2025, AS_OF, stalled_terms=STALLED)
    assert row.feedback_30d == 1


def test_milestone_plan_in_the_warehouse_is_used(con: Connection) -> None:
    add_projects(con, [("CS01", "老旧小区改造", 50.0, "市住房和城乡建设局")])
    add_report(con, "CS01", "2025-06-30", 30.0)
    con.executemany(
        "INSERT INTO project_milestones (year, project_code, planned_on, planned_pct) "
        "VALUES (2025, 'CS01', ?, ?)",
        [["2025-06-30", 30.0], ["2025-10-31", 100.0]],
    )
    [row] = status.compute_status(con, 2025, FRESH, stalled_terms=STALLED)
    assert (row.expected_pct, row.status, row.plan_missing) == (30.0, "on_track", ())


def test_history_is_kept_and_a_date_is_replaced(con: Connection) -> None:
    seed(con)
    status.compute_status(con, 2025, date(2025, 3, 31), stalled_terms=STALLED)
    status.compute_status(con, 2025, AS_OF, stalled_terms=STALLED)
    add_report(con, "CS03", "2025-07-01", 60.0)  # the silent unit finally reports
    status.compute_status(con, 2025, AS_OF, stalled_terms=STALLED)  # re-run of the same date
    counts = con.execute(
        "SELECT as_of, count(*) FROM project_status GROUP BY as_of ORDER BY as_of"
    ).fetchall()
    assert counts == [(date(2025, 3, 31), 4), (AS_OF, 4)]
    history = con.execute(
        "SELECT as_of, checkpoint, status FROM project_status WHERE project_code = 'CS03' "
        "ORDER BY as_of"
    ).fetchall()
    assert history == [
        (date(2025, 3, 31), "start", "missing"),
        (AS_OF, "mid", "ahead"),
    ]


def test_no_projects_no_rows(con: Connection) -> None:
    assert status.compute_status(con, 2030, AS_OF, stalled_terms=STALLED) == []


# --- the command ----------------------------------------------------------------------------


@pytest.fixture
def seeded_file(warehouse_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    lexicon = tmp_path / "lexicon"
    lexicon.mkdir()
    (lexicon / "message_types.toml").write_text(
        '[stalled]\nterms = ["停工", "质量差"]\n', encoding="utf-8"
    )
    monkeypatch.setenv("LM_LEXICON_DIR", str(lexicon))
    db.init_warehouse(warehouse_file)
    with db.write_transaction(warehouse_file) as con:
        seed(con)
    return warehouse_file


def run(settings: Settings, fmt: str, as_of: date = AS_OF, year: int | None = None) -> int:
    return cmd_status(argparse.Namespace(as_of=as_of, year=year, format=fmt), settings)


def test_cli_csv_contract(seeded_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(Settings(warehouse=seeded_file), "csv") == 0
    out, err = capsys.readouterr()
    rows = list(csv.DictReader(io.StringIO(out)))
    assert tuple(rows[0].keys()) == CSV_COLUMNS
    assert (
        out.splitlines()[0]
        == "code,name,unit,checkpoint,expected_pct,reported_pct,gap_pct,status,feedback_30d,conflict"
    )
    first = rows[0]
    assert first == {
        "code": "CS01",
        "name": "老旧小区改造",
        "unit": "市住房和城乡建设局",
        "checkpoint": "mid",
        "expected_pct": "50.0",
        "reported_pct": "85.0",
        "gap_pct": "35.0",
        "status": "ahead",
        "feedback_30d": "2",
        "conflict": "true",
    }
    assert [r["status"] for r in rows] == ["ahead", "seriously_behind", "missing", "completed"]
    assert rows[2]["conflict"] == "false"
    assert "已写入 project_status" in err  # stdout stays pure CSV
    _, stored = db.read_rows(
        seeded_file, "SELECT count(*) FROM project_status WHERE as_of = ?", [AS_OF]
    )
    assert stored == [(4,)]


def test_cli_missing_report_leaves_cells_empty(
    seeded_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(Settings(warehouse=seeded_file), "csv", as_of=date(2025, 2, 1)) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows[0]["checkpoint"] == "start" and rows[0]["status"] == "missing"
    assert rows[0]["reported_pct"] == "" and rows[0]["gap_pct"] == ""


def test_cli_table_is_chinese(seeded_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(Settings(warehouse=seeded_file), "table") == 0
    out = capsys.readouterr().out
    for text in ("年中", "时序进度", "超时序", "严重滞后", "未填报", "已完成", "填报与民意不符"):
        assert text in out
    assert "共 4 个项目" in out


def test_cli_table_shows_the_plan_check_at_year_start_and_results_at_year_end(
    seeded_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(warehouse=seeded_file)
    assert run(settings, "table", as_of=date(2025, 3, 31)) == 0
    assert "年初问计划：4 个项目计划不完整" in capsys.readouterr().out
    assert run(settings, "table", as_of=date(2026, 1, 10), year=2025) == 0
    assert "年末问结果：达到目标值 1 个" in capsys.readouterr().out


def test_cli_json(seeded_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(Settings(warehouse=seeded_file), "json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data[0]["code"] == "CS01" and data[0]["status_label"] == "超时序"
    assert data[0]["conflict"] is True and data[0]["stalled_complaints_30d"] == 2


def test_cli_year_without_registry(seeded_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(Settings(warehouse=seeded_file), "csv", as_of=date(2026, 1, 10)) == 2
    err = capsys.readouterr().err
    assert "2026 年尚未导入项目清单" in err and "--year 2025" in err


def test_cli_missing_warehouse(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(Settings(warehouse=tmp_path / "none.duckdb"), "csv") == 1
    assert "找不到数据仓库" in capsys.readouterr().err
    assert not (tmp_path / "none.duckdb").exists()


def test_cli_bad_settings(seeded_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(warehouse=seeded_file, extra={"status": {"ahead_gap": "ten"}})
    assert run(settings, "csv") == 2
    assert "配置有误" in capsys.readouterr().err
