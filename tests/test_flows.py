"""Whole flows on real Prefect runs (one temporary Prefect API for the module)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from livelihood_monitor import db
from livelihood_monitor.config import Settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    home = tmp_path_factory.mktemp("prefect-home")
    old = {k: os.environ.get(k) for k in ("PREFECT_HOME", "PREFECT_SERVER_ANALYTICS_ENABLED")}
    os.environ["PREFECT_HOME"] = str(home)  # no cached results leak between runs
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
    for key, value in old.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def counts(warehouse: Path) -> dict[str, int]:
    tables = ("feedback", "feedback_matches", "progress_reports", "ingest_runs", "letters")
    result = {}
    for table in tables:
        _, rows = db.read_rows(warehouse, f"SELECT count(*) FROM {table}")
        result[table] = int(rows[0][0])
    return result


def test_demo_pipeline_runs_and_is_idempotent(prefect_api: None, tmp_path: Path) -> None:
    from livelihood_monitor.demo import load_sample_data

    settings = Settings(warehouse=tmp_path / "wh.duckdb", data_dir=tmp_path / "var")
    lines = list(load_sample_data(settings))
    first = counts(settings.warehouse)
    assert first["feedback"] > 400 and first["progress_reports"] > 100
    assert first["feedback_matches"] >= first["feedback"]
    assert first["letters"] > 0
    assert any("归类" in line for line in lines)
    _, runs = db.read_rows(settings.warehouse, "SELECT DISTINCT status FROM ingest_runs")
    assert {r[0] for r in runs} == {"completed"}

    list(load_sample_data(settings))  # the same input again adds nothing
    second = counts(settings.warehouse)
    assert {
        k: second[k] for k in ("feedback", "feedback_matches", "progress_reports", "letters")
    } == {k: first[k] for k in ("feedback", "feedback_matches", "progress_reports", "letters")}
    assert second["ingest_runs"] > first["ingest_runs"]  # every run is still recorded


def test_classification_on_a_local_dask_cluster(prefect_api: None, tmp_path: Path) -> None:
    from prefect_dask.task_runners import DaskTaskRunner

    from flows.pipeline import classify_flow
    from livelihood_monitor import registry
    from livelihood_monitor.config import DEFAULT_REGISTRY

    warehouse = tmp_path / "wh.duckdb"
    db.init_warehouse(warehouse)
    with db.write_transaction(warehouse) as con:
        registry.save_registry(
            con,
            registry.read_registry(DEFAULT_REGISTRY, 2025),
            year=2025,
            file_name="s",
            sha256="s",
        )
        for i in range(40):
            text = ["老楼装电梯什么时候开始", "社区老年食堂的饭菜太咸", "楼上半夜跳绳太吵"][i % 3]
            con.execute(
                "INSERT INTO feedback (source, source_id, channel, submitted_at, text_raw, text, "
                "content_hash) VALUES ('t', ?, 'other', TIMESTAMPTZ '2025-05-01 10:00:00+08', ?, ?, ?)",
                [str(i), text, text, str(i)],
            )
    # Workers as threads of this process: spawned worker processes would re-import pytest's
    # __main__, which earlier AppTest runs leave pointing at the dashboard script.
    runner = DaskTaskRunner(
        cluster_kwargs={"n_workers": 2, "threads_per_worker": 1, "processes": False}
    )
    result = classify_flow.with_options(task_runner=runner)(2025, 4, str(warehouse))
    assert result["classified"] == 40
    _, rows = db.read_rows(
        warehouse, "SELECT count(DISTINCT feedback_id) FROM feedback_matches WHERE rank = 1"
    )
    assert rows == [(40,)]
