from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from livelihood_monitor.tabular import FileUnreadable, read_sheets

ALIASES = {
    "text": ("反映内容", "留言详情"),
    "source_id": ("序号", "编号"),
    "district": ("所属地区",),
}


def rows_of(
    path: Path, required: tuple[str, ...] = ("text",)
) -> list[tuple[int, dict[str, object]]]:
    return [(r.row_number, r.values) for s in read_sheets(path, ALIASES, required) for r in s.rows]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
def test_csv_encodings_and_mixed_line_endings(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes("序号,反映内容\r\n1,楼道灯坏了\n2,小区门口积水\r\n".encode(encoding))
    assert rows_of(path) == [
        (2, {"source_id": "1", "text": "楼道灯坏了"}),
        (3, {"source_id": "2", "text": "小区门口积水"}),
    ]


def test_header_with_spaces_and_full_width_letters(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text(" 序 号 ,ＴＥＸＴ\n7,路灯不亮\n", encoding="utf-8")
    assert rows_of(path) == [(2, {"source_id": "7", "text": "路灯不亮"})]


def test_missing_required_column_names_it_in_chinese(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text("序号,所属地区\n1,广陵区\n", encoding="utf-8")
    with pytest.raises(FileUnreadable, match="缺少必需列 反映内容"):
        rows_of(path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(FileUnreadable, match="文件是空的"):
        rows_of(path)


def test_undecodable_bytes(tmp_path: Path) -> None:
    path = tmp_path / "bin.csv"
    path.write_bytes(b"\x81\x30\xff\xfe\x00" * 20)
    with pytest.raises(FileUnreadable, match="编码"):
        rows_of(path)


def test_xlsx_title_row_merged_cells_and_two_sheets(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    first = book.active
    assert first is not None
    first.title = "广陵区"
    first.append(["2025年6月统一见面日意见汇总表"])
    first.merge_cells("A1:C1")
    first.append(["编号", "所属地区", "留言详情"])
    first.append([1, "广陵区", "希望增加公交班次"])
    second = book.create_sheet("邗江区")
    second.append(["编号", "所属地区", "留言详情"])
    second.append([2, "邗江区", "菜场周边停车难"])
    book.save(tmp_path / "m.xlsx")
    sheets = list(read_sheets(tmp_path / "m.xlsx", ALIASES, ("text",)))
    assert [(s.name, s.header_row) for s in sheets] == [("广陵区", 2), ("邗江区", 1)]
    assert [r.row_number for r in sheets[0].rows] == [3]
    assert [r.values["text"] for r in sheets[1].rows] == ["菜场周边停车难"]


def test_truncated_xlsx_is_unreadable(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.append(["编号", "留言详情"])
    for i in range(200):
        ws.append([i, "内容" * 20])
    whole = tmp_path / "whole.xlsx"
    book.save(whole)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(FileUnreadable, match=r"损坏|不完整"):
        rows_of(broken)
