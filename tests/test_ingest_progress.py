"""Units' progress reports: name resolution, percent forms, flags, identity, bad rows."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from livelihood_monitor import cli, db, registry
from livelihood_monitor.config import DEFAULT_REGISTRY, SAMPLE_DATA_DIR, load_settings
from livelihood_monitor.ingest_progress import (
    ingest_progress_files,
    name_key,
    read_progress_file,
    resolve_project,
)

PROGRESS = SAMPLE_DATA_DIR / "progress"
TODAY = date(2025, 12, 1)
PROJECTS = registry.read_registry(DEFAULT_REGISTRY, 2025)


@pytest.fixture
def wh(tmp_path: Path) -> Path:
    path = tmp_path / "wh" / "livelihood.duckdb"
    db.init_warehouse(path)
    with db.write_transaction(path) as con:
        registry.save_registry(
            con, PROJECTS, year=2025, file_name=DEFAULT_REGISTRY.name, sha256="test"
        )
    return path


def query(wh: Path, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    return db.read_rows(wh, sql, list(params))[1]


def write_csv(path: Path, lines: Sequence[str], encoding: str = "utf-8") -> Path:
    path.write_text("\n".join(lines) + "\n", encoding=encoding)
    return path


def test_sample_progress_sheets(wh: Path) -> None:
    files = sorted(PROGRESS.iterdir())
    result = ingest_progress_files(wh, files, 2025, today=TODAY)
    assert result.status == "completed"
    assert (result.counts.read, result.counts.loaded, result.counts.rejected) == (162, 159, 3)
    reasons = query(
        wh, "SELECT file, row_number, reason FROM rejected_rows ORDER BY file, row_number"
    )
    assert [(f, r) for f, r, _ in reasons] == [
        ("2025-06_progress.csv", 36),
        ("2025-06_progress.csv", 47),
        ("2025-09_progress.xlsx[进展情况]", 23),
    ]
    assert "项目编号 ZF09（项目名称：城镇棚户区改造）不在 2025 年项目清单中" in reasons[0][2]
    assert "填报日期有误：无法识别的日期“6月底”" in reasons[1][2]
    assert reasons[2][2] == (
        "第23行：项目名称“开展儿童筛查”可能对应多个项目：JY07 开展儿童形体筛查、"
        "WS04 开展儿童孤独症筛查干预；请改填项目编号"
    )
    # Section rows are layout: skipped, not rejected.
    assert "跳过分类标题等非数据行 10 行" in result.files[2].message
    # The abbreviated name resolved, with a note for the operator; 105% is flagged, not clipped.
    assert any("加装电梯" in n and "ZF02" in n for n in result.files[2].notes)
    assert query(
        wh,
        "SELECT progress_pct, flags FROM progress_reports WHERE project_code = 'WT03' AND report_date = '2025-09-30'",
    ) == [(105.0, "over_100")]
    # 45, 45% and 0.45 all mean 45 percent.
    june = dict(
        query(
            wh,
            "SELECT project_code, progress_pct FROM progress_reports WHERE report_date BETWEEN '2025-06-01' AND '2025-07-31'",
        )
    )
    assert (june["JY01"], june["JY02"], june["JY03"]) == (30.0, 70.0, 60.0)
    # Free-text amounts: a number with a unit is kept, anything else moves into the note.
    row = query(
        wh,
        "SELECT completed_value, note FROM progress_reports WHERE project_code = 'JY02' AND report_date = '2025-06-27'",
    )
    assert row == [(None, "3个教育集团已挂牌运行，参与比例达60%；完成量：参与比例60%")]
    assert query(
        wh,
        "SELECT completed_value FROM progress_reports WHERE project_code = 'JY01' AND report_date = '2025-06-26'",
    ) == [(2.0,)]

    again = ingest_progress_files(wh, files, 2025, today=TODAY)
    assert (again.counts.loaded, again.counts.updated, again.counts.duplicate) == (0, 0, 159)
    assert query(wh, "SELECT count(*) FROM progress_reports")[0][0] == 159


@pytest.mark.parametrize(
    ("name", "code", "method"),
    [
        ("既有住宅加装电梯", "ZF02", "exact"),
        ("建设校园“清洁厨房”", "JY06", "normalised"),
        ("基层医疗卫生机构新（改、扩）建", "WS02", "exact"),  # NFKC folds the brackets
        ("加装电梯", "ZF02", "contains"),
        ("口袋公园", "ST01", "contains"),
        ("開展兒童形體篩查", "JY07", "normalised"),  # Traditional
        ("骨灰安放", "BM05", "contains"),
        ("城乡公益性骨灰设施", "BM05", "in_order"),
    ],
)
def test_names_resolve_to_codes(name: str, code: str, method: str) -> None:
    resolution = resolve_project(name, PROJECTS)
    assert (resolution.code, resolution.method) == (code, method)


def test_ambiguous_and_unknown_names_list_candidates() -> None:
    ambiguous = resolve_project("开展儿童筛查", PROJECTS)
    assert ambiguous.code is None and ambiguous.method == "ambiguous"
    assert [p.code for p in ambiguous.candidates] == ["JY07", "WS04"]
    unknown = resolve_project("城镇棚户区改造", PROJECTS)
    assert unknown.code is None and unknown.method == "unknown"
    assert resolve_project("", PROJECTS, code="ZF99").code is None
    assert resolve_project("随便写的", PROJECTS, code="ZF02").code == "ZF02"


def test_name_key_ignores_width_brackets_and_quotes() -> None:
    assert name_key("推行高频政务服务“一件事一次办”") == name_key('推行高频政务服务"一件事一次办"')
    assert name_key("新（改、扩）建幼儿园") == name_key("新(改、扩)建幼儿园") == "新改扩建幼儿园"


def test_going_backwards_is_flagged_even_when_the_earlier_report_arrives_later(
    wh: Path, tmp_path: Path
) -> None:
    september = write_csv(
        tmp_path / "sep.csv", ["项目编号,填报日期,完成进度", "JY01,2025-09-30,50%"]
    )
    june = write_csv(tmp_path / "jun.csv", ["项目编号,填报日期,完成进度", "JY01,2025-06-30,60"])
    ingest_progress_files(wh, [september], 2025, today=TODAY)
    assert query(wh, "SELECT flags FROM progress_reports") == [(None,)]
    result = ingest_progress_files(wh, [june], 2025, today=TODAY)
    assert query(wh, "SELECT report_date, flags FROM progress_reports ORDER BY report_date") == [
        (date(2025, 6, 30), None),
        (date(2025, 9, 30), "went_backwards"),
    ]
    assert result.counts.loaded == 1


def test_a_corrected_value_for_the_same_project_and_date_updates(wh: Path, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "p.csv", ["项目编号,填报日期,完成进度,进展情况", "JY01,2025-06-30,30,开工2所"]
    )
    ingest_progress_files(wh, [path], 2025, today=TODAY)
    write_csv(path, ["项目编号,填报日期,完成进度,进展情况", "JY01,2025/6/30,35%,开工3所"])
    result = ingest_progress_files(wh, [path], 2025, today=TODAY)
    assert (result.counts.loaded, result.counts.updated) == (0, 1)
    assert query(wh, "SELECT progress_pct, note FROM progress_reports") == [(35.0, "开工3所")]


def test_bad_rows_are_rejected_and_the_rest_loads(wh: Path, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "bad.csv",
        [
            "项目编号,项目名称,填报日期,完成进度",
            "JY01,,2025-06-30,30",
            "ZZ99,,2025-06-30,30",
            ",,2025-06-30,30",
            "JY02,,2025-06-30,",
            "JY03,,2025-06-30,-5",
            "JY04,,2025-06-30,很多",
            "JY05,,2027-06-30,40",
            "JY01,,2025-06-30,31",
        ],
    )
    result = ingest_progress_files(wh, [path], 2025, today=TODAY)
    assert (result.counts.read, result.counts.loaded, result.counts.rejected) == (8, 1, 7)
    reasons = [r[0] for r in query(wh, "SELECT reason FROM rejected_rows ORDER BY row_number")]
    assert reasons == [
        "第3行：项目编号 ZZ99 不在 2025 年项目清单中",
        "第4行：缺少项目编号和项目名称，无法确定是哪个项目",
        "第5行：缺少完成进度",
        "第6行：完成进度不能为负数（-5）",
        "第7行：完成进度有误：“很多”不是数字",
        "第8行：填报日期 2027-06-30 不在 2025 年度的合理填报期内（2025-01-01 至 2025-12-08），请核对日期",
        "第9行：项目 JY01 在 2025-06-30 的进度与第2行重复",
    ]


def test_a_sheet_without_code_or_name_columns_fails_whole(wh: Path, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "x.csv", ["填报日期,完成进度", "2025-06-30,30"])
    inbox_copy = tmp_path / "inbox"
    inbox_copy.mkdir()
    moved = inbox_copy / "x.csv"
    moved.write_bytes(path.read_bytes())
    result = ingest_progress_files(wh, [moved], 2025, move=True, today=TODAY)
    assert result.files[0].status == "failed" and "项目编号 或 项目名称" in result.files[0].message
    assert (inbox_copy / "failed" / "x.csv.reason.txt").exists()


def test_missing_registry_fails_the_run(tmp_path: Path) -> None:
    empty = tmp_path / "empty.duckdb"
    db.init_warehouse(empty)
    result = ingest_progress_files(empty, [PROGRESS / "2025-03_progress.csv"], 2025, today=TODAY)
    assert result.status == "failed" and "尚未导入项目清单" in result.message
    assert query(empty, "SELECT status FROM ingest_runs") == [("failed",)]


def test_read_is_separate_from_save_and_reads_xlsx_percent_cells(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["2025年民生实事项目进展情况表"])
    sheet.append(["项目名称", "截至日期", "形象进度(%)", "已完成"])
    sheet.append(["一、教育发展（7项）"])
    sheet.append(["建设一批优质学校", date(2025, 9, 30), 0.55, "3所"])
    sheet.append(["推进义务教育集团化办学", "2025.9.30", "88%", None])
    path = tmp_path / "sep.xlsx"
    book.save(path)
    read = read_progress_file(path, PROJECTS, 2025, today=TODAY)
    assert [
        (r.row_number, r.project_code, r.progress_pct, r.completed_value) for r in read.reports
    ] == [
        (4, "JY01", 55.0, 3.0),
        (5, "JY02", 88.0, None),
    ]
    assert read.skipped == 1 and read.rejects == []


def test_cli_ingest_progress(wh: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from livelihood_monitor import cli_ingest

    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    if "ingest" not in sub.choices:

        def add(name: str, help_text: str, handler: Any, parent: Any = sub) -> Any:
            p = parent.add_parser(name, help=help_text, description=help_text)
            p.set_defaults(handler=handler)
            return p

        cli_ingest.register(sub, add)
    args = parser.parse_args(
        [
            "--warehouse",
            str(wh),
            "ingest",
            "progress",
            *map(str, sorted(PROGRESS.iterdir())),
            "--year",
            "2025",
        ]
    )
    assert args.handler(args, load_settings(None, warehouse=wh)) == 0
    out, err = capsys.readouterr()
    assert "本次导入：读取 162 行，新增 159 行，重复 0 行，拒收 3 行" in out
    assert "提示：" in out and "超过 100%" in out
    assert "第47行：填报日期有误" in err
