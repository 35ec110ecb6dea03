from __future__ import annotations

from pathlib import Path

import pytest

from livelihood_monitor import db, registry
from livelihood_monitor.config import DEFAULT_REGISTRY
from livelihood_monitor.matching import classify_new_feedback

MESSAGES = [
    "我家住六楼，老人爬楼太吃力，什么时候给我们楼装电梯",
    "社区老年食堂的饭菜太咸了，老人吃不惯",
    "楼上邻居半夜还在跳绳，吵得睡不着",
    "小区门口的快递柜总是满的，取件太难了",
]


@pytest.fixture
def warehouse(warehouse_file: Path) -> Path:
    db.init_warehouse(warehouse_file)
    projects = registry.read_registry(DEFAULT_REGISTRY, 2025)
    with db.write_transaction(warehouse_file) as con:
        registry.save_registry(con, projects, year=2025, file_name="s.csv", sha256="x")
        for i, text in enumerate(MESSAGES, start=1):
            con.execute(
                "INSERT INTO feedback (source, source_id, channel, submitted_at, text_raw, text, "
                "content_hash) VALUES ('test', ?, 'other', TIMESTAMPTZ '2025-05-01 10:00:00+08', ?, ?, ?)",
                [str(i), text, text, str(i)],
            )
    return warehouse_file


def rank1(warehouse: Path) -> dict[int, str | None]:
    _, rows = db.read_rows(
        warehouse,
        "SELECT feedback_id, project_code FROM feedback_matches WHERE rank = 1 AND method = 'auto' "
        "ORDER BY feedback_id",
    )
    return {int(i): c for i, c in rows}


def test_new_feedback_is_matched_once(warehouse: Path) -> None:
    first = classify_new_feedback(warehouse, 2025, batch_rows=2)
    assert (first.classified, first.matched, first.none) == (4, 2, 2)
    assert rank1(warehouse) == {1: "ZF02", 2: "YL04", 3: None, 4: None}
    _, detail = db.read_rows(
        warehouse,
        "SELECT message_type, matched_terms, confidence FROM feedback_matches "
        "WHERE feedback_id = 1 AND rank = 1",
    )
    assert detail[0][1] and 0 < detail[0][2] <= 1
    again = classify_new_feedback(warehouse, 2025)
    assert again.classified == 0
    _, count = db.read_rows(warehouse, "SELECT count(*) FROM feedback_matches WHERE rank = 1")
    assert count == [(4,)]


def test_supervisor_corrections_teach_the_next_run(warehouse: Path) -> None:
    classify_new_feedback(warehouse, 2025)
    with db.write_transaction(warehouse) as con:
        con.execute(
            "INSERT INTO feedback_matches (feedback_id, year, project_code, confidence, rank, method, "
            "decided_by) VALUES (4, 2025, 'BM04', 1.0, 1, 'manual', 'editor')"
        )
        con.execute(
            "INSERT INTO feedback (source, source_id, channel, submitted_at, text_raw, text, content_hash) "
            "VALUES ('test', '5', 'other', TIMESTAMPTZ '2025-06-01 10:00:00+08', ?, ?, '5')",
            ["我们小区门口那个快递柜天天满，取件难"] * 2,
        )
    summary = classify_new_feedback(warehouse, 2025)
    assert summary.corrections_used == 1 and summary.classified == 1
    assert rank1(warehouse)[5] == "BM04"


def test_year_without_registry_is_a_clear_error(warehouse: Path) -> None:
    with pytest.raises(LookupError, match="2030 年尚未导入"):
        classify_new_feedback(warehouse, 2030)


def test_an_edited_message_is_classified_again(warehouse: Path) -> None:
    classify_new_feedback(warehouse, 2025)
    with db.write_transaction(warehouse) as con:
        con.execute(
            "UPDATE feedback SET text = '社区老年食堂的饭菜太咸了', version = 2, "
            "updated_at = now() + INTERVAL 1 SECOND WHERE feedback_id = 3"
        )
    again = classify_new_feedback(warehouse, 2025)
    assert again.classified == 1
    assert rank1(warehouse)[3] == "YL04"
    _, rows = db.read_rows(
        warehouse, "SELECT count(*) FROM feedback_matches WHERE feedback_id = 3 AND rank = 1"
    )
    assert rows == [(1,)]


def test_repeated_reports_raise_urgency_once(warehouse_file: Path) -> None:
    from livelihood_monitor.matching import flag_repeated_reports

    db.init_warehouse(warehouse_file)
    projects = registry.read_registry(DEFAULT_REGISTRY, 2025)
    texts = [
        "桐园新村7幢加装电梯基坑挖好就停工了",
        "桐园新村7幢加装电梯停工两个月了",
        "桐园新村7幢的加装电梯工程停工了没人管",
        "社区老年食堂的饭菜太咸了",
    ]
    with db.write_transaction(warehouse_file) as con:
        registry.save_registry(con, projects, year=2025, file_name="s.csv", sha256="x")
        for i, text in enumerate(texts, start=1):
            con.execute(
                "INSERT INTO feedback (source, source_id, channel, district, submitted_at, text_raw, "
                "text, content_hash) VALUES ('t', ?, 'other', '广陵区', "
                "TIMESTAMPTZ '2025-05-01 10:00:00+08' + INTERVAL (?) DAY, ?, ?, ?)",
                [str(i), i, text, text, str(i)],
            )
    classify_new_feedback(warehouse_file, 2025)
    assert flag_repeated_reports(warehouse_file, 2025) == 3
    assert flag_repeated_reports(warehouse_file, 2025) == 3  # idempotent
    _, rows = db.read_rows(
        warehouse_file,
        # One row per message (a message may have a second rank-1 project: both rows agree).
        "SELECT feedback_id, min(repeat_count), max(repeat_count), min(urgency - text_urgency),"
        " max(urgency - text_urgency) FROM feedback_matches WHERE rank = 1"
        " GROUP BY feedback_id ORDER BY feedback_id",
    )
    assert [r[1:] for r in rows] == [(3, 3, 1, 1)] * 3 + [(1, 1, 0, 0)]
