"""The bundled sample, run through the real pipeline, so ``make demo`` shows a working system.

The registry is imported, then the Prefect pipeline flow runs once: observation-point and
meeting-day files, the 民意直通车 API (the reference server on loopback, serving the bundled
opinions), progress sheets, classification and the daily supervision as of a date in the sample
year. Re-running adds nothing: every step is idempotent.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from livelihood_monitor import db, registry
from livelihood_monitor.config import DEFAULT_REGISTRY, DEFAULT_YEAR, SAMPLE_DATA_DIR, Settings

DEMO_AS_OF = "2025-09-30"  # the sample's newest progress sheet is as of this date


def sample_files(kind: str) -> list[str]:
    folder = SAMPLE_DATA_DIR / kind
    return sorted(str(p) for p in folder.iterdir() if p.suffix.lower() in {".csv", ".xlsx"})


def import_sample_registry(settings: Settings) -> str:
    projects = registry.read_registry(DEFAULT_REGISTRY, DEFAULT_YEAR)
    sha = registry.file_sha256(DEFAULT_REGISTRY)
    with db.write_transaction(settings.warehouse) as con:
        row = con.execute(
            "SELECT file_sha256 FROM registry_imports WHERE year = ? ORDER BY version DESC LIMIT 1",
            [DEFAULT_YEAR],
        ).fetchone()
        if row and row[0] == sha:
            return f"{DEFAULT_YEAR} 年示例项目清单已是最新，跳过。"
        result = registry.save_registry(
            con, projects, year=DEFAULT_YEAR, file_name=DEFAULT_REGISTRY.name, sha256=sha
        )
    return f"已导入 {DEFAULT_YEAR} 年示例项目清单：{result.project_count} 个项目。"


def load_sample_data(settings: Settings) -> Iterator[str]:
    """Initialise the warehouse and run the pipeline on the samples; yields progress lines."""
    applied = db.init_warehouse(settings.warehouse)
    yield f"数据仓库：{settings.warehouse}（新应用迁移 {len(applied)} 个）"
    yield import_sample_registry(settings)

    from livelihood_monitor.direct_channel import serve_sample_api

    # Prefect keeps its state beside the project's other working data, not in ~/.prefect.
    os.environ.setdefault("PREFECT_HOME", str(settings.data_dir / "prefect"))
    Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # The first start migrates Prefect's database; on a busy 2-core machine that takes > 20 s.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    from flows.pipeline import pipeline_flow

    server = serve_sample_api(
        port=0, opinions_path=SAMPLE_DATA_DIR / "direct_channel" / "opinions.json"
    )
    try:
        yield f"民意直通车示例接口：{server.url}（仅本机）"
        results = pipeline_flow(
            feedback={
                "observation_point": sample_files("feedback/observation_point"),
                "meeting_day": sample_files("feedback/meeting_day"),
            },
            progress=sample_files("progress"),
            api_url=server.url,
            api_token=server.token,
            as_of=DEMO_AS_OF,
            warehouse=str(settings.warehouse),
        )
    finally:
        server.shutdown()
    for outcome in results.values():
        yield str(outcome["summary"])
