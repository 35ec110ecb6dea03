"""Loading the bundled sample data, so ``make demo`` shows a working system on a fresh clone."""

from __future__ import annotations

from collections.abc import Iterator

from livelihood_monitor import db, registry
from livelihood_monitor.config import DEFAULT_REGISTRY, DEFAULT_YEAR, Settings


def load_sample_data(settings: Settings) -> Iterator[str]:
    """Initialise the warehouse and load the samples; yields progress lines for the terminal."""
    applied = db.init_warehouse(settings.warehouse)
    yield f"数据仓库：{settings.warehouse}（新应用迁移 {len(applied)} 个）"
    projects = registry.read_registry(DEFAULT_REGISTRY, DEFAULT_YEAR)
    sha = registry.file_sha256(DEFAULT_REGISTRY)
    with db.write_transaction(settings.warehouse) as con:
        row = con.execute(
            "SELECT file_sha256 FROM registry_imports WHERE year = ? ORDER BY version DESC LIMIT 1",
            [DEFAULT_YEAR],
        ).fetchone()
        if row and row[0] == sha:
            yield f"{DEFAULT_YEAR} 年示例项目清单已是最新，跳过。"
        else:
            result = registry.save_registry(
                con, projects, year=DEFAULT_YEAR, file_name=DEFAULT_REGISTRY.name, sha256=sha
            )
            yield f"已导入 {DEFAULT_YEAR} 年示例项目清单：{result.project_count} 个项目。"
