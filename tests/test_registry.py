from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from livelihood_monitor import db, registry
from livelihood_monitor.config import DEFAULT_REGISTRY


def sample_rows() -> list[dict[str, str]]:
    with DEFAULT_REGISTRY.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def write_csv(
    path: Path,
    rows: list[dict[str, str]],
    encoding: str = "utf-8",
    headers: dict[str, str] | None = None,
) -> Path:
    fields = list(rows[0].keys())
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([(headers or {}).get(f, f) for f in fields])
        for row in rows:
            writer.writerow([row[f] for f in fields])
    return path


CHINESE_HEADERS = {
    "code": "项目编号",
    "category": "类别",
    "name": "项目名称",
    "target": "目标任务",
    "target_value": "目标值",
    "target_unit": "计量单位",
    "lead_unit": "牵头单位",
    "provenance": "来源",
}


def test_bundled_sample_reads_55_projects_in_10_categories() -> None:
    projects = registry.read_registry(DEFAULT_REGISTRY, 2025)
    assert len(projects) == 55
    assert len({p.category for p in projects}) == 10
    jy01 = next(p for p in projects if p.code == "JY01")
    assert jy01.unit == "市教育局" and jy01.target_value == 6
    assert (jy01.start_date.isoformat(), jy01.due_date.isoformat()) == ("2025-01-01", "2025-12-31")


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030", "gbk"])
def test_chinese_headers_in_excel_encodings(tmp_path: Path, encoding: str) -> None:
    path = write_csv(tmp_path / "清单.csv", sample_rows(), encoding, CHINESE_HEADERS)
    projects = registry.read_registry(path, 2026)
    assert len(projects) == 55
    assert projects[0].year == 2026 and projects[0].start_date.year == 2026


def test_xlsx_with_title_row_and_dates(tmp_path: Path) -> None:
    rows = sample_rows()[:3]
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.append(["2026年民生实事项目清单（票决稿）"])
    ws.merge_cells("A1:H1")
    ws.append(
        ["项目编号", "类别", "项目名称", "目标任务", "目标值", "计量单位", "牵头单位", "完成时限"]
    )
    for r in rows:
        ws.append(
            [
                r["code"],
                r["category"],
                r["name"],
                r["target"],
                float(r["target_value"]),
                r["target_unit"],
                r["lead_unit"],
                "2026年6月30日",
            ]
        )
    path = tmp_path / "清单.xlsx"
    book.save(path)
    projects = registry.read_registry(path, 2026)
    assert [p.code for p in projects] == [r["code"] for r in rows]
    assert all(p.due_date.isoformat() == "2026-06-30" for p in projects)


def test_every_problem_is_listed_by_row(tmp_path: Path) -> None:
    rows = sample_rows()
    rows[3]["code"] = rows[1]["code"]  # duplicate code on file row 5 (header is row 1)
    rows[10]["name"] = ""  # missing name on row 12
    rows[20]["target_value"] = "约十个"  # not a number on row 22
    path = write_csv(tmp_path / "bad.csv", rows)
    with pytest.raises(registry.RegistryError) as info:
        registry.read_registry(path, 2025)
    problems = info.value.problems
    assert len(problems) == 3
    assert f"第5行：项目编号 {rows[1]['code']} 与第3行重复" in problems
    assert "第12行：缺少项目名称" in problems
    assert any(p.startswith("第22行：目标值") and "不是数字" in p for p in problems)


def test_missing_required_column_rejects_file(tmp_path: Path) -> None:
    rows = [{k: v for k, v in r.items() if k != "lead_unit"} for r in sample_rows()]
    path = write_csv(tmp_path / "no-unit.csv", rows)
    with pytest.raises(registry.RegistryError, match="缺少必需列 牵头单位"):
        registry.read_registry(path, 2025)


def test_reimport_adds_version_and_keeps_previous(con: db.Connection, tmp_path: Path) -> None:
    first = registry.read_registry(DEFAULT_REGISTRY, 2025)
    registry.save_registry(con, first, year=2025, file_name="a.csv", sha256="a")
    rows = sample_rows()[:54]  # one project dropped by an amendment
    rows[0]["target"] = "修订后的目标"
    amended = registry.read_registry(write_csv(tmp_path / "amended.csv", rows), 2025)
    result = registry.save_registry(con, amended, year=2025, file_name="b.csv", sha256="b")
    assert (result.version, result.replaced_version) == (2, 1)
    current = registry.load_projects(con, 2025)
    assert len(current) == 54
    assert next(p for p in current if p.code == rows[0]["code"]).target == "修订后的目标"
    kept = con.execute("SELECT count(*) FROM project_registry WHERE version = 1").fetchone()
    assert kept == (55,)


def run_cli(*args: str, warehouse: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "livelihood_monitor.cli", "--warehouse", str(warehouse), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_rejects_broken_file_and_keeps_existing_list(
    tmp_path: Path, warehouse_file: Path
) -> None:
    ok = run_cli(
        "registry", "import", str(DEFAULT_REGISTRY), "--year", "2025", warehouse=warehouse_file
    )
    assert ok.returncode == 0, ok.stderr
    assert "55 个" in ok.stdout
    rows = sample_rows()
    rows[0]["category"] = ""
    bad = run_cli(
        "registry",
        "import",
        str(write_csv(tmp_path / "bad.csv", rows)),
        "--year",
        "2025",
        warehouse=warehouse_file,
    )
    assert bad.returncode == 2
    assert "第2行：缺少类别" in bad.stderr and "原有清单保持不变" in bad.stderr
    _, current = db.read_rows(warehouse_file, "SELECT count(*), max(version) FROM projects")
    assert current == [(55, 1)]
