"""Importing a year's voted list of livelihood projects (民生实事项目).

A voted list is all or nothing: if any row is wrong the whole file is rejected with every problem
listed by row, and the warehouse keeps what it had. Re-importing a year adds a new version; the
``projects`` view shows the latest, earlier versions stay in ``project_registry``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from livelihood_monitor.db import Connection
from livelihood_monitor.tabular import FileUnreadable, read_sheets
from livelihood_monitor.values import clean, parse_date, parse_number

REGISTRY_COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("项目编号", "编号", "项目代码", "代码"),
    "category": ("类别", "项目类别", "分类"),
    "name": ("项目名称", "名称"),
    "target": ("目标任务", "建设目标", "任务目标", "年度目标"),
    "target_value": ("目标值", "目标数量", "目标数"),
    "target_unit": ("计量单位", "目标单位"),
    "unit": ("lead_unit", "牵头单位", "责任单位", "实施单位"),
    "start_date": ("开始日期", "开工日期"),
    "due_date": ("完成时限", "截止日期", "完成日期"),
    "provenance": ("来源", "出处"),
}
REQUIRED = ("code", "category", "name", "target", "unit")
_LABELS = {
    "code": "项目编号",
    "category": "类别",
    "name": "项目名称",
    "target": "目标任务",
    "unit": "牵头单位",
    "target_value": "目标值",
}


class RegistryError(Exception):
    """The file was rejected as a whole; ``problems`` lists every reason, by row."""

    def __init__(self, file: str, problems: list[str]):
        self.file = file
        self.problems = problems
        super().__init__(
            f"{file}：项目清单未导入，共 {len(problems)} 处问题：\n" + "\n".join(problems)
        )


@dataclass(frozen=True)
class Project:
    year: int
    code: str
    category: str
    name: str
    target: str
    target_value: float | None
    target_unit: str | None
    unit: str
    start_date: date
    due_date: date
    provenance: str | None = None


@dataclass(frozen=True)
class ImportResult:
    year: int
    version: int
    project_count: int
    replaced_version: int | None


def read_registry(path: Path, year: int) -> list[Project]:
    """Parse and validate a registry file; raise ``RegistryError`` listing every problem."""
    try:
        sheets = list(read_sheets(path, REGISTRY_COLUMNS, REQUIRED))
    except FileUnreadable as exc:
        raise RegistryError(path.name, [str(exc)]) from exc
    sheet = sheets[0]  # a registry is one table; extra sheets are notes
    problems: list[str] = []
    projects: list[Project] = []
    first_row: dict[str, int] = {}
    for row in sheet.rows:
        where = f"第{row.row_number}行"
        v = {k: clean(row.values.get(k)) for k in REGISTRY_COLUMNS}
        row_problems = [f"{where}：缺少{_LABELS[k]}" for k in REQUIRED if not v[k]]
        code = v["code"].upper()
        if code:
            if code in first_row:
                row_problems.append(f"{where}：项目编号 {code} 与第{first_row[code]}行重复")
            else:
                first_row[code] = row.row_number
        target_value: float | None = None
        if v["target_value"]:
            try:
                target_value = parse_number(v["target_value"])
            except ValueError as exc:
                row_problems.append(f"{where}：目标值{exc}")
        elif "target_value" in sheet.columns:
            row_problems.append(f"{where}：缺少目标值（应为数字）")
        start, due = date(year, 1, 1), date(year, 12, 31)
        for key, label in (("start_date", "开始日期"), ("due_date", "完成时限")):
            if v[key]:
                try:
                    parsed = parse_date(row.values[key])
                except ValueError as exc:
                    row_problems.append(f"{where}：{label}{exc}")
                    continue
                if key == "start_date":
                    start = parsed
                else:
                    due = parsed
        if start > due:
            row_problems.append(f"{where}：开始日期 {start} 晚于完成时限 {due}")
        problems.extend(row_problems)
        if not row_problems:
            projects.append(
                Project(
                    year,
                    code,
                    v["category"],
                    v["name"],
                    v["target"],
                    target_value,
                    v["target_unit"] or None,
                    v["unit"],
                    start,
                    due,
                    v["provenance"] or None,
                )
            )
    if not problems and not projects:
        problems.append("文件中没有任何项目行")
    if problems:
        raise RegistryError(path.name, problems)
    return projects


def save_registry(
    con: Connection, projects: list[Project], *, year: int, file_name: str, sha256: str
) -> ImportResult:
    """Store a validated list as the year's next version, in the caller's transaction."""
    row = con.execute("SELECT max(version) FROM registry_imports WHERE year = ?", [year]).fetchone()
    previous = row[0] if row else None
    version = (previous or 0) + 1
    con.execute(
        "INSERT INTO registry_imports (year, version, file_name, file_sha256, project_count) "
        "VALUES (?, ?, ?, ?, ?)",
        [year, version, file_name, sha256, len(projects)],
    )
    con.executemany(
        "INSERT INTO project_registry (year, version, code, category, name, target, target_value, "
        "target_unit, unit, start_date, due_date, provenance) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            [
                year,
                version,
                p.code,
                p.category,
                p.name,
                p.target,
                p.target_value,
                p.target_unit,
                p.unit,
                p.start_date,
                p.due_date,
                p.provenance,
            ]
            for p in projects
        ],
    )
    return ImportResult(year, version, len(projects), previous)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def load_projects(con: Connection, year: int) -> list[Project]:
    """The current list of a year, as stored."""
    rows = con.execute(
        "SELECT year, code, category, name, target, target_value, target_unit, unit, "
        "start_date, due_date, provenance FROM projects WHERE year = ? ORDER BY code",
        [year],
    ).fetchall()
    return [Project(*r) for r in rows]
