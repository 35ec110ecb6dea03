"""Feedback file ingestion: identity, idempotency, bad input of every kind, crash and resume."""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from livelihood_monitor import cli, db
from livelihood_monitor.config import SAMPLE_DATA_DIR, load_settings
from livelihood_monitor.ingest_feedback import (
    Counts,
    ProgressEvent,
    RunResult,
    Scratch,
    ingest_feedback_files,
    ingest_inbox,
    joins_digit_groups,
    prepare_feedback,
    read_feedback_file,
    safe_characters,
    safe_text_pattern,
)
from livelihood_monitor.normalize import normalize_text
from livelihood_monitor.privacy import mask_contact, mask_pii
from livelihood_monitor.values import SHANGHAI, parse_datetime

OBSERVATION = SAMPLE_DATA_DIR / "feedback" / "observation_point"
MEETING = SAMPLE_DATA_DIR / "feedback" / "meeting_day"
NOW = datetime(2025, 12, 1, 12, 0, tzinfo=SHANGHAI)
HEADER = "编号,反映时间,观察点,联系电话,反映内容"


@pytest.fixture
def wh(tmp_path: Path) -> Path:
    return tmp_path / "wh" / "livelihood.duckdb"


def ingest(
    wh: Path, paths: Sequence[Path], channel: str = "observation_point", **kw: Any
) -> RunResult:
    kw.setdefault("now", NOW)
    return ingest_feedback_files(wh, list(paths), channel, **kw)


def query(wh: Path, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    return db.read_rows(wh, sql, list(params))[1]


def write_csv(
    path: Path, lines: Sequence[str], *, encoding: str = "utf-8", newline: str = "\n"
) -> Path:
    path.write_bytes(newline.join(lines).encode(encoding) + newline.encode())
    return path


def rejects(wh: Path) -> list[tuple[str, int, str]]:
    return [
        tuple(r)
        for r in query(
            wh, "SELECT file, row_number, reason FROM rejected_rows ORDER BY file, row_number"
        )
    ]  # type: ignore[misc]


# --- the bundled sample data -------------------------------------------------------------------


def test_sample_observation_points_load_once_with_the_deliberate_bad_rows_rejected(
    wh: Path,
) -> None:
    files = sorted(OBSERVATION.glob("*.csv"))
    first = ingest(wh, files)
    assert first.status == "completed"
    assert (
        first.counts.read,
        first.counts.loaded,
        first.counts.duplicate,
        first.counts.rejected,
    ) == (
        202,
        199,
        1,  # file 2, row 2 re-exports file 1's last row: loaded once
        2,
    )
    assert rejects(wh) == [
        ("2025-01_04_observation_points.csv", 41, "第41行：缺少反映内容"),
        (
            "2025-09_11_observation_points.csv",
            35,
            "第35行：反映时间有误：无法识别的日期“上周五下午”（应为 2025-03-05、2025/3/5 14:20 或 2025年3月5日）",
        ),
    ]
    # The line break inside a quoted cell (file 2, row 12) stays in the text...
    assert (
        query(wh, "SELECT count(*) FROM feedback WHERE text_raw LIKE '%' || chr(10) || '%'")[0][0]
        >= 1
    )
    # ...the 4-byte GB18030 character of file 3 row 7 survives, and the formula stays text.
    assert query(wh, "SELECT count(*) FROM feedback WHERE submitter = '陈𬭎'")[0][0] == 1
    assert query(wh, "SELECT text FROM feedback WHERE text_raw LIKE '=HYPERLINK%'") == [
        ('=HYPERLINK("http://x","点我")',)
    ]
    # Traditional with pinyin and full-width digits are normalised; the raw text is kept.
    assert (
        query(
            wh,
            "SELECT count(*) FROM feedback WHERE text_raw LIKE '%區(qū)%' AND text LIKE '%老小区%'",
        )[0][0]
        == 1
    )
    assert (
        query(
            wh, "SELECT count(*) FROM feedback WHERE text = '强烈要求32路恢复蒋王花苑站点！！！'"
        )[0][0]
        == 1
    )

    again = ingest(wh, files)
    assert (again.counts.loaded, again.counts.updated, again.counts.duplicate) == (0, 0, 200)
    assert query(wh, "SELECT count(*), count(DISTINCT source_id) FROM feedback") == [(199, 199)]
    runs = query(
        wh,
        "SELECT status, rows_read, rows_loaded, rows_rejected, rows_duplicate FROM ingest_runs ORDER BY started_at",
    )
    assert runs == [("completed", 202, 199, 2, 1), ("completed", 202, 0, 2, 200)]


def test_sample_rows_are_numbered_as_in_excel_including_after_a_multiline_cell(wh: Path) -> None:
    labels = list(
        csv.DictReader((SAMPLE_DATA_DIR / "labels" / "feedback_labels.csv").open(encoding="utf-8"))
    )
    ingest(wh, [OBSERVATION / "2025-05_08_observation_points.csv"], batch_rows=10)
    # Re-ingesting with one row corrupted: the reject must name the Excel row of that record.
    row = next(
        r
        for r in labels
        if r["file"].endswith("2025-05_08_observation_points.csv") and int(r["row"]) == 40
    )
    source = (OBSERVATION / "2025-05_08_observation_points.csv").read_bytes().decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(source)))
    record = next(i for i, cells in enumerate(lines) if cells and cells[0] == row["source_id"])
    lines[record][1] = "不是日期"
    broken = wh.parent.parent / "broken.csv"
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(lines)
    broken.write_text(out.getvalue(), encoding="utf-8-sig")
    result = ingest(wh, [broken])
    assert result.counts.rejected == 1
    assert rejects(wh)[0][1:] == (40, rejects(wh)[0][2]) and rejects(wh)[0][2].startswith(
        "第40行：反映时间有误"
    )


def test_fast_path_and_python_path_store_identical_rows(tmp_path: Path) -> None:
    files = sorted(OBSERVATION.glob("*.csv"))
    for path in files:
        with Scratch(tmp_path) as scratch:
            assert read_feedback_file(path, scratch).engine == "duckdb"
    fast, slow = tmp_path / "fast.duckdb", tmp_path / "slow.duckdb"
    ingest(fast, files)
    ingest(slow, files, engine="python")
    columns = "source_id, text_raw, text, submitted_at, observation_point, district, submitter, contact_masked, content_hash"
    sql = f"SELECT {columns} FROM feedback ORDER BY source_id"
    assert query(fast, sql) == query(slow, sql)
    assert rejects(fast) == rejects(slow)


def test_batches_close_at_a_byte_budget_and_cover_every_row(tmp_path: Path) -> None:
    """Long texts make smaller batches (memory), and the batches still hold each row once."""
    lines = [HEADER] + [f"A{i},2025-03-05,,,{'路灯坏了' * (5 + i % 40)}" for i in range(1, 3001)]
    lines[1500:1500] = [",,,,"] * 3  # blank lines: gaps in the row numbers
    path = write_csv(tmp_path / "long.csv", lines)
    (tmp_path / "s").mkdir()
    budget = 200_000
    with Scratch(tmp_path / "s") as scratch:
        loaded = read_feedback_file(path, scratch)
        prepared = prepare_feedback(
            scratch, loaded, now=datetime.now(SHANGHAI), batch_rows=100_000, batch_bytes=budget
        )
        sizes, rows = [], []
        for batch in prepared.batches:
            table = prepared.batch_table(batch)
            sizes.append(sum(len(t.encode()) for t in table.column("text_raw").to_pylist()))
            rows += table.column("row_number").to_pylist()
    # By rows alone this is one batch; by bytes about sum / budget of them, each passing the
    # budget by at most one block of rows (256 of the longest texts).
    assert len(prepared.batches) >= sum(sizes) // budget >= 4
    assert max(sizes) < budget + 256 * len(("路灯坏了" * 44).encode())
    assert rows == [n for n in range(2, 3005) if n not in (1501, 1502, 1503)]


def test_meeting_day_workbooks_with_title_rows_and_two_sheets(wh: Path) -> None:
    result = ingest(wh, sorted(MEETING.glob("*.xlsx")), "meeting_day")
    assert (result.counts.read, result.counts.loaded, result.counts.rejected) == (118, 118, 0)
    ids = {r[0] for r in query(wh, "SELECT source_id FROM feedback")}
    # 编号 restarts in every sheet: the sheet is part of the identity.
    assert "2025-10-18_meeting_day_hanjiang_jiangdu.xlsx[邗江区]#1" in ids
    assert "2025-10-18_meeting_day_hanjiang_jiangdu.xlsx[江都区]#1" in ids
    title, text, moment = query(
        wh,
        "SELECT title, text, submitted_at FROM feedback WHERE source_id = ?",
        ["2025-10-18_meeting_day_hanjiang_jiangdu.xlsx[邗江区]#1"],
    )[0]
    assert title == "菜场没厕所" and text.startswith("菜场没厕所\n菜场没有公共厕所")
    assert moment == datetime(2025, 10, 18, 8, 42, tzinfo=SHANGHAI)  # text cell '2025.10.18 08:42'
    assert (
        query(
            wh,
            "SELECT count(*) FROM feedback WHERE channel = 'meeting_day' AND source = 'file:meeting_day'",
        )[0][0]
        == 118
    )


# --- encodings and layout ------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_encodings_bom_and_line_endings(
    wh: Path, tmp_path: Path, encoding: str, newline: str
) -> None:
    path = write_csv(
        tmp_path / "f.csv",
        [
            HEADER,
            "A1,2025-03-05,湾头镇民情观察点,,楼道灯坏了",
            "A2,昨天,湾头镇民情观察点,,小区门口积水",
        ],
        encoding=encoding,
        newline=newline,
    )
    result = ingest(wh, [path])
    assert (result.counts.loaded, result.counts.rejected) == (1, 1)
    assert rejects(wh)[0][1] == 3
    assert query(wh, "SELECT text FROM feedback") == [("楼道灯坏了",)]


def test_mixed_line_endings_and_blank_lines_keep_row_numbers(wh: Path, tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_bytes(
        (
            HEADER + "\r\nA1,2025-03-05,,,第一条\n\r\nA2,2025-03-06,,,第二条\r\nA3,不对,,,第三条\n"
        ).encode()
    )
    result = ingest(wh, [path])
    assert (result.counts.loaded, result.counts.rejected) == (2, 1)
    assert rejects(wh)[0][1] == 5  # the blank line is row 3, as Excel shows it


def test_wrong_encoding_guess_from_the_first_megabyte(wh: Path, tmp_path: Path) -> None:
    """The first megabyte is plain ASCII (valid UTF-8); GB18030 appears only at the end."""
    lines = [HEADER] + [f"N{i},2025-03-05,,,light {i} broken" for i in range(30_000)]
    lines.append("Z1,2025-03-06,,,樓道燈壞了，請盡快修理")
    path = write_csv(tmp_path / "late-gbk.csv", lines, encoding="gb18030")
    assert path.stat().st_size > 1 << 20
    result = ingest(wh, [path])
    assert (result.counts.loaded, result.counts.rejected) == (30_001, 0)
    assert query(wh, "SELECT text FROM feedback WHERE source_id LIKE '%#Z1'") == [
        ("楼道灯坏了，请尽快修理",)
    ]


def test_undecodable_file_fails_whole(wh: Path, tmp_path: Path) -> None:
    path = tmp_path / "bin.csv"
    path.write_bytes(b"\x81\x30\xff\xfe\x00" * 50)
    result = ingest(wh, [path])
    assert result.failed_files and "编码" in result.failed_files[0].message


def test_header_with_spaces_full_width_letters_and_a_title_row(wh: Path, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "h.csv",
        ["2025年3月民情汇总表,,", " 编 号 ,反映 时间,ＣＯＮＴＥＮＴ", "B7,2025-03-07,路灯不亮"],
    )
    result = ingest(wh, [path])
    assert result.counts.loaded == 1
    assert query(wh, "SELECT source_id, text FROM feedback") == [("h.csv#B7", "路灯不亮")]


def test_missing_required_column_moves_the_file_to_failed_with_a_reason(
    wh: Path, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_csv(inbox / "no-text.csv", ["序号,反映时间,所属地区", "1,2025-03-05,广陵区"])
    write_csv(inbox / "good.csv", [HEADER, "A1,2025-03-05,,,路灯坏了"])
    result = ingest_inbox(wh, inbox, "observation_point", settle_s=0, now=NOW)
    assert [(f.path.name, f.status) for f in result.files] == [
        ("good.csv", "completed"),
        ("no-text.csv", "failed"),
    ]
    assert (inbox / "processed" / "good.csv").exists()
    reason = (inbox / "failed" / "no-text.csv.reason.txt").read_text(encoding="utf-8")
    assert "缺少必需列 反映内容" in reason and (inbox / "failed" / "no-text.csv").exists()
    assert not (inbox / "no-text.csv").exists()
    assert result.status == "completed" and result.counts.loaded == 1


def test_explicit_files_are_not_moved_unless_asked(wh: Path, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "keep.csv", [HEADER, "A1,2025-03-05,,,路灯坏了"])
    ingest(wh, [path])
    assert path.exists()
    result = ingest(wh, [path], move=True)
    assert not path.exists() and result.files[0].moved_to == tmp_path / "processed" / "keep.csv"


def test_empty_file_and_header_only_file(wh: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    header_only = write_csv(tmp_path / "header.csv", [HEADER])
    result = ingest(wh, [empty, header_only])
    assert result.files[0].status == "failed" and "文件是空的" in result.files[0].message
    assert result.files[1].status == "completed" and result.files[1].counts.read == 0


def test_inbox_leaves_partial_uploads_and_lock_files(wh: Path, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in ("~$book.xlsx", ".hidden.csv", "upload.csv.part"):
        (inbox / name).write_text("x", encoding="utf-8")
    result = ingest_inbox(wh, inbox, "observation_point", settle_s=0, now=NOW)
    assert result.files == []
    assert sorted(p.name for p in inbox.iterdir()) == [
        ".hidden.csv",
        "upload.csv.part",
        "~$book.xlsx",
    ]


# --- bad rows ---------------------------------------------------------------------------------------


def test_duplicate_ids_within_a_file_are_rejected_even_across_batches(
    wh: Path, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "dups.csv",
        [
            HEADER,
            "A1,2025-03-05,,,第一条",
            "A2,2025-03-05,,,第二条",
            "A3,2025-03-05,,,第三条",
            "A1,2025-03-06,,,又一条",
        ],
    )
    result = ingest(wh, [path], batch_rows=2)
    assert (result.counts.loaded, result.counts.rejected) == (3, 1)
    assert rejects(wh) == [("dups.csv", 5, "第5行：编号 A1 与第2行重复")]
    assert query(wh, "SELECT text FROM feedback WHERE source_id = 'dups.csv#A1'") == [("第一条",)]


def test_serial_numbers_are_not_identities(wh: Path, tmp_path: Path) -> None:
    """序号 restarts in every file: two files with 序号 1 are two records."""
    one = write_csv(tmp_path / "one.csv", ["序号,反映时间,反映内容", "1,2025-03-05,路灯坏了"])
    two = write_csv(tmp_path / "two.csv", ["序号,反映时间,反映内容", "1,2025-03-05,道路积水"])
    result = ingest(wh, [one, two])
    assert result.counts.loaded == 2
    assert all(r[0].startswith("sha256:") for r in query(wh, "SELECT source_id FROM feedback"))


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("上周五下午", "无法识别的日期"),
        ("2025-02-30", "不存在的日期"),
        ("2025-03-05 24:00", "不存在的日期"),  # DuckDB alone would roll this into 03-06
        ("2025/13/1", "不存在的日期"),
        ("2025-12-03 08:00", "晚于当前时间"),  # NOW + 2 days
    ],
)
def test_bad_and_future_dates_are_rejected(
    wh: Path, tmp_path: Path, value: str, reason: str
) -> None:
    path = write_csv(
        tmp_path / "d.csv",
        [HEADER, f"A1,{value},,,有问题的行", "A2,2025-12-02 08:00,,,明天上午的也接受"],
    )
    result = ingest(wh, [path])
    assert (result.counts.loaded, result.counts.rejected) == (1, 1)
    assert reason in rejects(wh)[0][2] and rejects(wh)[0][1] == 2


def test_one_megabyte_cell_is_rejected_and_the_rest_loads(wh: Path, tmp_path: Path) -> None:
    huge = "很长" * (1 << 19)  # 1,048,576 characters, about 3 MB of UTF-8
    path = write_csv(
        tmp_path / "big.csv",
        [
            HEADER,
            "A1,2025-03-05,,,正常的一条",
            f'A2,2025-03-05,,,"{huge}"',
            "A3,2025-03-05,,,后面的也正常",
        ],
    )
    result = ingest(wh, [path])
    assert (result.counts.loaded, result.counts.rejected) == (2, 1)
    _, row, reason = rejects(wh)[0]
    assert row == 3 and "过长（1048576 字，上限 50000 字）" in reason
    raw = query(wh, "SELECT raw FROM rejected_rows")[0][0]
    assert len(raw) < 3000 and "已截断" in raw


def test_formula_looking_text_is_stored_as_text(wh: Path, tmp_path: Path) -> None:
    csv_path = write_csv(
        tmp_path / "f.csv",
        [HEADER, 'A1,2025-03-05,,,"=HYPERLINK(""http://x"",""点我"")"', "A2,2025-03-05,,,+1 同意"],
    )
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["编号", "反映内容"])
    sheet.append(["X1", None])
    cell = sheet.cell(row=2, column=2)
    cell.value = '=HYPERLINK("http://y","点")'
    cell.data_type = "s"  # a text cell that looks like a formula, as Excel stores '=...
    xlsx = tmp_path / "f.xlsx"
    book.save(xlsx)
    result = ingest(wh, [csv_path, xlsx])
    assert result.counts.loaded == 3
    texts = {r[0] for r in query(wh, "SELECT text FROM feedback")}
    assert texts == {'=HYPERLINK("http://x","点我")', "+1 同意", '=HYPERLINK("http://y","点")'}


def test_truncated_xlsx_goes_to_failed(wh: Path, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["编号", "反映内容"])
    for i in range(200):
        sheet.append([f"X{i}", f"第{i}条意见"])
    full = tmp_path / "full.xlsx"
    book.save(full)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    data = full.read_bytes()
    (inbox / "cut.xlsx").write_bytes(data[: len(data) // 2])
    result = ingest_inbox(wh, inbox, "meeting_day", settle_s=0, now=NOW)
    assert result.files[0].status == "failed"
    assert "Excel 文件" in (inbox / "failed" / "cut.xlsx.reason.txt").read_text(encoding="utf-8")
    assert query(wh, "SELECT count(*) FROM feedback")[0][0] == 0


def test_personal_data_is_masked_and_kept_raw(wh: Path, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "pii.csv",
        [
            HEADER,
            "A1,2025-03-05,,张先生 13812345678,请回电13912345678，身份证320102199003071234",
            "A2,2025-03-05,,0514-87654321,没有个人信息",
            "A3,2025-03-05,,,",
        ],
    )
    ingest(wh, [path])
    rows = query(
        wh, "SELECT source_id, text, text_raw, contact_masked FROM feedback ORDER BY source_id"
    )
    assert rows[0][1] == mask_pii(rows[0][2]) and "13912345678" not in rows[0][1]
    assert "13912345678" in rows[0][2]
    assert rows[0][3] == "138****5678" and rows[1][3] == "0514-******21"


def test_changed_record_is_updated_and_its_earlier_version_kept(wh: Path, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "v.csv", [HEADER, "A1,2025-03-05,,,路灯坏了", "A2,2025-03-05,,,道路积水"]
    )
    ingest(wh, [path])
    write_csv(path, [HEADER, "A1,2025-03-05,,,路灯坏了三天了", "A2,2025-03-05,,,道路积水"])
    result = ingest(wh, [path])
    assert (result.counts.loaded, result.counts.updated, result.counts.duplicate) == (0, 1, 1)
    assert query(wh, "SELECT text, version FROM feedback WHERE source_id = 'v.csv#A1'") == [
        ("路灯坏了三天了", 2)
    ]
    assert query(
        wh,
        "SELECT v.version, v.text_raw FROM feedback_versions v JOIN feedback f USING (feedback_id)",
    ) == [(1, "路灯坏了")]


def test_work_order_ids_identify_a_record_across_files(wh: Path, tmp_path: Path) -> None:
    """A hotline's 工单号 is the same record in next week's export: an edit, not a new record;
    a plain 编号 restarts in every file, so the same 编号 in two files is two records."""
    header = "工单号,反映时间,反映内容"
    week1 = write_csv(tmp_path / "week1.csv", [header, "GD001,2025-03-05,路灯坏了"])
    week2 = write_csv(
        tmp_path / "week2.csv",
        [header, "GD001,2025-03-05,路灯坏了，已经三天", "GD002,2025-03-06,积水"],
    )
    ingest(wh, [week1])
    result = ingest(wh, [week2], channel="hotline")
    assert result.counts.loaded == 2  # another channel is another source
    result = ingest(wh, [week2])
    assert (result.counts.loaded, result.counts.updated) == (1, 1)
    assert query(
        wh,
        "SELECT source_id, version FROM feedback WHERE source = 'file:observation_point' ORDER BY 1",
    ) == [("GD001", 2), ("GD002", 1)]
    one = write_csv(tmp_path / "one.csv", ["编号,反映时间,反映内容", "1,2025-03-05,菜场没有厕所"])
    two = write_csv(tmp_path / "two.csv", ["编号,反映时间,反映内容", "1,2025-03-07,公交太少"])
    assert ingest(wh, [one, two]).counts.loaded == 2


def test_a_work_order_twice_in_one_workbook_names_both_places(wh: Path, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    first = book.active
    assert first is not None
    first.title = "广陵区"
    first.append(["工单号", "反映时间", "反映内容"])
    first.append(["GD1", "2025-03-05", "路灯坏了"])
    second = book.create_sheet("邗江区")
    second.append(["工单号", "反映时间", "反映内容"])
    second.append(["GD2", "2025-03-05", "积水"])
    second.append(["GD1", "2025-03-06", "路灯还是坏的"])
    path = tmp_path / "m.xlsx"
    book.save(path)
    result = ingest(wh, [path])
    assert (result.counts.loaded, result.counts.rejected) == (2, 1)
    assert rejects(wh) == [
        ("m.xlsx[邗江区]", 3, "第3行：工单号 GD1 与工作表“m.xlsx[广陵区]”第2行重复")
    ]


def test_json_and_jsonl_files(wh: Path, tmp_path: Path) -> None:
    items = [
        {
            "id": "J1",
            "submitted_at": "2025-03-05T10:00:00+08:00",
            "content": "路灯坏了",
            "location": "广陵区",
        },
        {"id": "J2", "submitted_at": "2025-03-05T11:00:00+08:00", "content": ""},
        "not an object",
    ]
    as_json = tmp_path / "export.json"
    as_json.write_text(json.dumps({"items": items}, ensure_ascii=False), encoding="utf-8")
    as_jsonl = tmp_path / "export.jsonl"
    as_jsonl.write_text(
        '{"编号": "L1", "留言内容": "公交太少"}\n{broken\n\n{"编号": "L2", "留言内容": "垃圾没人收"}\n',
        encoding="utf-8",
    )
    broken = tmp_path / "broken.json"
    broken.write_text('[{"id": "B1", "content": "被截断', encoding="utf-8")
    result = ingest(wh, [as_json, as_jsonl, broken], "other")
    assert [f.status for f in result.files] == ["completed", "completed", "failed"]
    assert "不是有效的 JSON" in result.files[2].message
    assert result.counts.loaded == 3
    assert [r[1:] for r in rejects(wh)] == [
        (2, "第2条：缺少反映内容（content）"),
        (3, "第3条：不是一条留言（应为 JSON 对象）"),
        (2, "第2行：不是有效的 JSON（Expecting property name enclosed in double quotes）"),
    ]


# --- the fast path agrees with the Python functions ------------------------------------------------


# The stage and batch SQL's treatment of a text, on its own: 'safe' texts are kept as they are,
# 'mobile' texts get the batch statement's mobile mask, anything else is left to Python (NULL).
# Texts go in as one list, so DuckDB compiles the (large) patterns once.
_FAST_SQL = """
SELECT CASE
    WHEN regexp_full_match(t, $safe) THEN t
    WHEN regexp_full_match(t, $mobile)
        THEN regexp_replace(t, '(1[3-9][0-9])[0-9]{4}([0-9]{4})', '\\1****\\2', 'g')
END
FROM unnest($texts) WITH ORDINALITY AS u(t, i)
ORDER BY i
"""


def fast_paths(texts: list[str]) -> list[str | None]:
    rows = (
        duckdb.connect()
        .execute(
            _FAST_SQL,
            {
                "texts": texts,
                "safe": safe_text_pattern(),
                "mobile": safe_text_pattern(mobiles=True),
            },
        )
        .fetchall()
    )
    return [row[0] for row in rows]


def test_fast_path_takes_common_texts_and_leaves_the_rest_to_python() -> None:
    kept = ["小区门口的路灯坏了，12栋2单元。", "2025年3月交了1200元，501室", "等了123天"]
    assert fast_paths(kept) == kept
    assert fast_paths(["我的电话是13812345678。", "13812345678"]) == [
        "我的电话是138****5678。",
        "138****5678",
    ]
    python_work = [
        "過去",
        "(草案)",
        "ＡＢＣ",
        "a@b.cn",
        "两个  空格",
        "换\n行",
        "0514-87654321",  # a group followed by a separator
        "138-1234-5678",
        "1234567",  # seven digits: a local number after a contact word
        "8613812345678",  # a mobile with a country code
        "320102199001011234",
    ]
    assert fast_paths(python_work) == [None] * len(python_work)


def test_the_pattern_never_takes_a_digit_run_masking_could_start_in() -> None:
    separators = [ch for ch in safe_characters() if joins_digit_groups(ch)]
    assert "-" in separators  # derived from mask_pii, not listed by hand
    runs = ["1" * length for length in (3, 4, 5, 6)]
    assert None not in fast_paths([f"共{digits}元" for digits in runs])
    joined = [f"共{digits}{sep}5" for digits in runs for sep in separators]
    assert fast_paths(joined) == [None] * len(joined)


def _edge_texts(rng: random.Random, count: int) -> list[str]:
    """Texts on the fast path's edges: safe characters, separators, digit runs of every length,
    mobile-shaped numbers."""
    safe = safe_characters()
    texts = []
    for _ in range(count):
        pieces = []
        for _ in range(rng.randint(0, 10)):
            kind = rng.random()
            if kind < 0.3:
                pieces.append(rng.choice(safe))
            elif kind < 0.4:
                pieces.append(rng.choice(["电话", "联系", "手机号码", "tel"]))
            elif kind < 0.55:
                pieces.append(rng.choice("-–‐"))
            elif kind < 0.85:
                width = rng.randint(1, 13)  # leading zeros too: area codes
                pieces.append(f"{rng.randint(0, 10**width - 1):0{width}d}")
            elif kind < 0.93:
                pieces.append(f"1{rng.randint(3, 9)}{rng.randint(0, 10**9 - 1):09d}")
            else:  # a mobile behind a country code, joined in any of the ways people write it
                prefix = rng.choice(["86", "+86", "0086", "+", ""]) + rng.choice(
                    ["", "-", "‐", "–"]
                )
                pieces.append(f"{prefix}1{rng.randint(3, 9)}{rng.randint(0, 10**9 - 1):09d}")
        texts.append("".join(pieces))
    return texts


def test_fast_path_agrees_with_normalise_and_mask() -> None:
    texts = _edge_texts(random.Random(11), 20_000)
    fast = fast_paths(texts)
    taken = [(t, f) for t, f in zip(texts, fast, strict=True) if f is not None]
    assert len(taken) > 2_000  # the test exercises the fast path, not only the fallback
    assert any(f != t for t, f in taken)  # ... including the mobile mask
    for text, result in taken:
        assert result == mask_pii(normalize_text(text)), text


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(st.sampled_from(safe_characters()), st.sampled_from("0123456789")), max_size=60
    )
)
def test_texts_of_safe_characters_need_no_python_work(chars: list[str]) -> None:
    text = "".join(chars)
    # Keep digit runs at two, as the pattern does anywhere.
    out, run = [], 0
    for ch in text:
        run = run + 1 if ch.isdigit() else 0
        if run <= 2:
            out.append(ch)
    text = "".join(out)
    assert mask_pii(normalize_text(text)) == text.strip(" \n")


def test_texts_of_safe_characters_take_the_fast_path() -> None:
    rng = random.Random(5)
    safe = safe_characters()
    texts = ["".join(rng.choice(safe) for _ in range(rng.randint(1, 60))) for _ in range(5_000)]
    assert fast_paths(texts) == texts


def test_vectorised_dates_and_contacts_agree_with_the_python_functions(
    wh: Path, tmp_path: Path
) -> None:
    rng = random.Random(7)
    dates, contacts = [], []
    for _ in range(300):
        y, mo, d, h, mi = (
            2025,
            rng.randint(0, 13),
            rng.randint(0, 32),
            rng.randint(0, 25),
            rng.randint(0, 61),
        )
        dates.append(
            rng.choice(
                [
                    f"{y}-{mo:02d}-{d:02d}",
                    f"{y}-{mo:02d}-{d:02d} {h:02d}:{mi:02d}",
                    f"{y}/{mo}/{d} {h}:{mi:02d}",
                    f"{y}.{mo}.{d} {h:02d}:{mi:02d}:0{rng.randint(0, 9)}",
                    f"{y}年{mo}月{d}日",
                    f"{y}-{mo}-{d}T{h:02d}:{mi:02d}",
                ]
            )
        )
        contacts.append(
            rng.choice(
                [
                    f"1{rng.randint(0, 9)}{rng.randint(0, 999_999_999):09d}",
                    f"0{rng.randint(10, 999)}-{rng.randint(1_000_000, 99_999_999)}",
                    f"0514-{rng.randint(100, 999_999_999)}",
                    f"李女士{rng.randint(13_000_000_000, 19_999_999_999)}",
                ]
            )
        )
    lines = [HEADER] + [
        f"R{i},{d},,{c},第{i}条" for i, (d, c) in enumerate(zip(dates, contacts, strict=True))
    ]
    ingest(
        wh, [write_csv(tmp_path / "shapes.csv", lines)], now=datetime(2030, 1, 1, tzinfo=SHANGHAI)
    )
    stored = {
        r[0]: r[1:]
        for r in query(wh, "SELECT source_id, submitted_at, contact_masked FROM feedback")
    }
    rejected = {r[1] for r in rejects(wh)}
    for i, (date_text, contact) in enumerate(zip(dates, contacts, strict=True)):
        try:
            expected = parse_datetime(date_text)
        except ValueError:
            assert i + 2 in rejected, date_text
            continue
        moment, masked = stored[f"shapes.csv#R{i}"]
        assert moment == expected, date_text
        assert masked == mask_contact(contact), contact


# --- crash and resume ---------------------------------------------------------------------------------


class Crash(Exception):
    pass


def crash_after(count: int, kind: str) -> Callable[[ProgressEvent], None]:
    seen = {"n": 0}

    def hook(event: ProgressEvent) -> None:
        if event.kind == kind:
            seen["n"] += 1
            if seen["n"] == count:
                raise Crash(f"injected after {kind} {count}")

    return hook


def test_crash_between_two_batches_loses_nothing_and_duplicates_nothing(
    wh: Path, tmp_path: Path
) -> None:
    lines = [HEADER] + [f"C{i},2025-03-05,,,第{i}条意见" for i in range(25)]
    path = write_csv(tmp_path / "c.csv", lines)
    with pytest.raises(Crash):
        ingest(wh, [path], batch_rows=10, on_progress=crash_after(1, "batch"))
    # Batches cut at row numbers 10, 20, ...: the first committed batch held rows 2..9.
    assert query(wh, "SELECT count(*) FROM feedback")[0][0] == 8
    assert query(wh, "SELECT status, rows_loaded FROM ingest_runs") == [("failed", 8)]
    result = ingest(wh, [path], batch_rows=10)
    assert (result.counts.loaded, result.counts.duplicate) == (17, 8)
    assert query(wh, "SELECT count(*), count(DISTINCT source_id) FROM feedback") == [(25, 25)]


def test_crash_between_two_files_of_an_inbox(wh: Path, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_csv(inbox / "a.csv", [HEADER, "A1,2025-03-05,,,一", "A2,2025-03-05,,,二"])
    write_csv(inbox / "b.csv", [HEADER, "B1,2025-03-05,,,三"])
    with pytest.raises(Crash):
        ingest_inbox(
            wh, inbox, "observation_point", settle_s=0, now=NOW, on_progress=crash_after(1, "file")
        )
    assert (inbox / "processed" / "a.csv").exists() and (inbox / "b.csv").exists()
    result = ingest_inbox(wh, inbox, "observation_point", settle_s=0, now=NOW)
    assert [f.path.name for f in result.files] == ["b.csv"]
    assert query(wh, "SELECT count(*), count(DISTINCT source_id) FROM feedback") == [(3, 3)]


def test_progress_is_reported_per_batch_and_file(wh: Path, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "p.csv", [HEADER] + [f"P{i},2025-03-05,,,第{i}条" for i in range(30)]
    )
    events: list[ProgressEvent] = []
    ingest(wh, [path], batch_rows=10, on_progress=events.append)
    assert [e.kind for e in events] == ["batch"] * 4 + ["file"]  # rows 2-9, 10-19, 20-29, 30-31
    assert events[-1].run_rows == 30 and events[-1].rate > 0


# --- command line ------------------------------------------------------------------------------------


def run_cli(argv: list[str], warehouse: Path) -> int:
    """``livelihood-monitor --warehouse W ...``, with the ingest commands registered even before
    cli.py calls ``register`` itself."""
    from livelihood_monitor import cli_ingest

    parser = cli.build_parser()
    choices = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    if "ingest" not in choices:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))

        def add(name: str, help_text: str, handler: Any, parent: Any = sub) -> Any:
            p = parent.add_parser(name, help=help_text, description=help_text)
            p.set_defaults(handler=handler)
            return p

        cli_ingest.register(sub, add)
    args = parser.parse_args(["--warehouse", str(warehouse), *argv])
    settings_ = load_settings(None, warehouse=warehouse)
    code: int = args.handler(args, settings_)
    return code


def test_cli_ingest_feedback_prints_a_chinese_summary(
    wh: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_cli(
        [
            "ingest",
            "feedback",
            *map(str, sorted(OBSERVATION.glob("*.csv"))),
            "--channel",
            "observation_point",
        ],
        wh,
    )
    out, err = capsys.readouterr()
    assert code == 0
    assert "本次导入：读取 202 行，新增 199 行，重复 1 行，拒收 2 行" in out
    assert "第41行：缺少反映内容" in err


def test_cli_exit_code_2_when_a_file_cannot_be_read(
    wh: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write_csv(tmp_path / "bad.csv", ["序号,所属地区", "1,广陵区"])
    assert run_cli(["ingest", "feedback", str(bad)], wh) == 2
    assert "缺少必需列" in capsys.readouterr().err


def test_cli_inbox_walks_every_channel_folder(
    wh: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "inbox"
    (root / "meeting_day").mkdir(parents=True)
    write_csv(root / "meeting_day" / "m.csv", ["编号,留言详情", "M1,希望多装路灯"])
    assert run_cli(["ingest", "inbox", "--root", str(root), "--settle", "0"], wh) == 0
    assert (root / "meeting_day" / "processed" / "m.csv").exists()
    assert {p.name for p in root.iterdir()} >= {
        "observation_point",
        "meeting_day",
        "hotline",
        "other",
        "progress",
    }
    assert query(wh, "SELECT channel FROM feedback") == [("meeting_day",)]
    assert "统一见面日：读取 1 行，新增 1 行" in capsys.readouterr().out


def test_counts_summary_wording() -> None:
    assert (
        Counts(5, 3, 1, 1, 0).summary() == "读取 5 行，新增 3 行，更新 1 行，重复 1 行，拒收 0 行"
    )


# --- two processes: the dashboard reads while ingestion writes -------------------------------------

READER = """
import sys, time
from pathlib import Path
from livelihood_monitor import db
path, seconds = Path(sys.argv[1]), float(sys.argv[2])
reads = errors = 0
last = -1
end = time.monotonic() + seconds
while time.monotonic() < end:
    try:
        _, rows = db.read_rows(path, "SELECT count(*) FROM feedback")
        assert rows[0][0] >= last, (rows[0][0], last)  # committed batches never disappear
        last = rows[0][0]
        reads += 1
    except Exception as exc:  # any error escaping the retry layer would reach the dashboard
        errors += 1
        print("ERROR", type(exc).__name__, exc, flush=True)
    time.sleep(0.02)
print(f"reads={reads} errors={errors} last={last}", flush=True)
"""


@pytest.mark.slow
def test_a_reader_process_never_fails_while_a_large_file_is_ingested(
    wh: Path, tmp_path: Path
) -> None:
    import subprocess
    import sys

    rows = 60_000
    path = write_csv(
        tmp_path / "large.csv",
        [HEADER] + [f"L{i},2025-03-05,,,第{i}条意见，路灯坏了" for i in range(rows)],
    )
    db.init_warehouse(wh)
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(wh), "8"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    result = ingest(wh, [path], batch_rows=5_000)
    out, err = reader.communicate(timeout=120)
    assert reader.returncode == 0, err
    assert "ERROR" not in out, out
    assert int(out.split("reads=")[1].split()[0]) > 10, out
    assert result.counts.loaded == rows
    assert query(wh, "SELECT count(*) FROM feedback")[0][0] == rows
