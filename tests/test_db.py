from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from livelihood_monitor import db

REQUIRED_COLUMNS = {
    "projects": "year code category name target target_value target_unit unit start_date due_date",
    "feedback": "feedback_id source source_id channel observation_point deputy_code district "
    "submitted_at text_raw text contact_masked ingested_at",
    "feedback_matches": "feedback_id year project_code confidence rank method matched_terms",
    "progress_reports": "year project_code report_date progress_pct completed_value note unit "
    "source source_id",
    "project_status": "year project_code as_of checkpoint expected_pct reported_pct gap_pct status",
    "letters": "letter_no year kind unit issued_on due_on status path_docx path_pdf",
    "rejected_rows": "run_id source file row_number reason raw",
    "ingest_runs": "run_id source started_at finished_at rows_read rows_loaded rows_rejected "
    "rows_duplicate",
}


def test_every_contract_relation_has_its_columns(con: db.Connection) -> None:
    for relation, wanted in REQUIRED_COLUMNS.items():
        cols = {r[0] for r in con.execute(f"DESCRIBE {relation}").fetchall()}
        missing = set(wanted.split()) - cols
        assert not missing, f"{relation} lacks {missing}"


def test_init_is_idempotent_and_records_versions(warehouse_file: Path) -> None:
    first = db.init_warehouse(warehouse_file)
    assert first and first[0].startswith("0001_")
    assert db.init_warehouse(warehouse_file) == []
    _, rows = db.read_rows(warehouse_file, "SELECT version FROM schema_migrations ORDER BY 1")
    assert [r[0] for r in rows] == [int(name[:4]) for name in first]


def test_migration_files_are_numbered_uniquely() -> None:
    versions = [v for v, _, _ in db.migration_files()]
    assert versions == sorted(set(versions))
    assert versions[0] == 1


def test_read_connection_is_read_only(warehouse_file: Path) -> None:
    db.init_warehouse(warehouse_file)
    with db.read_connection(warehouse_file) as con, pytest.raises(duckdb.Error):
        con.execute("CREATE TABLE x (a INT)")


def test_missing_warehouse_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="livelihood-monitor init"):
        db.read_rows(tmp_path / "nope.duckdb", "SELECT 1")


def test_write_transaction_rolls_back_on_error(warehouse_file: Path) -> None:
    db.init_warehouse(warehouse_file)
    with pytest.raises(RuntimeError), db.write_transaction(warehouse_file) as con:
        con.execute("INSERT INTO ingest_runs (run_id, source, started_at) VALUES ('r1','t',now())")
        raise RuntimeError("boom")
    _, rows = db.read_rows(warehouse_file, "SELECT count(*) FROM ingest_runs")
    assert rows == [(0,)]


def test_lock_budget_exhausted_gives_chinese_error(warehouse_file: Path) -> None:
    db.init_warehouse(warehouse_file)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb,sys,time; c=duckdb.connect(sys.argv[1]); print('held', flush=True); "
            "time.sleep(30)",
            str(warehouse_file),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        quick = db.RetryPolicy(budget_s=0.3)
        with (
            pytest.raises(db.WarehouseBusyError, match="正被其他进程占用"),
            db.read_connection(warehouse_file, retry=quick),
        ):
            pass
    finally:
        holder.kill()
        holder.wait()


WRITER = """
import sys
from pathlib import Path
from livelihood_monitor import db
path, n = Path(sys.argv[1]), int(sys.argv[2])
for i in range(n):
    with db.write_transaction(path) as con:
        con.execute(
            "INSERT INTO ingest_runs (run_id, source, started_at, rows_read) VALUES (?, 'w', now(), ?)",
            [f"run-{i}", i],
        )
print("writer done", flush=True)
"""

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
        _, rows = db.read_rows(path, "SELECT count(*) FROM ingest_runs")
        count = rows[0][0]
        assert count >= last, (count, last)  # committed writes never disappear
        last = count
        reads += 1
    except Exception as exc:  # any error escaping the retry layer is a failure
        errors += 1
        print("ERROR", type(exc).__name__, exc, flush=True)
print(f"reads={reads} errors={errors}", flush=True)
"""


@pytest.mark.slow
def test_two_processes_reader_never_fails_and_no_write_is_lost(warehouse_file: Path) -> None:
    db.init_warehouse(warehouse_file)
    writes = 150
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(warehouse_file), "6"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    writer = subprocess.run(
        [sys.executable, "-c", WRITER, str(warehouse_file), str(writes)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    out, err = reader.communicate(timeout=120)
    assert writer.returncode == 0, writer.stderr
    assert reader.returncode == 0, err
    assert "ERROR" not in out, out
    summary = out.strip().splitlines()[-1]
    reads = int(summary.split()[0].split("=")[1])
    assert reads > 10, summary
    _, rows = db.read_rows(
        warehouse_file, "SELECT count(*), count(DISTINCT run_id) FROM ingest_runs"
    )
    assert rows == [(writes, writes)]


def test_the_deciding_match_rule_lives_in_one_place(con: db.Connection) -> None:
    """Manual beats auto, the latest wins within a method; a decision without type or terms keeps
    the known type, and terms only from decisions for the same project."""
    rows = [
        # feedback 1: the classifier says JY01, an editor moves it to JY02 without terms
        (1, "JY01", 0.8, "auto", "complaint", "学位不够", "2025-03-01 10:00"),
        (1, "JY02", 1.0, "manual", None, None, "2025-03-02 10:00"),
        # feedback 2: an editor confirms the classifier's project, then the classifier re-runs
        (2, "ZF02", 0.6, "auto", "suggestion", "加梯", "2025-03-01 10:00"),
        (2, "ZF02", 1.0, "manual", None, None, "2025-03-02 10:00"),
        (2, "ZF01", 0.7, "auto", "inquiry", "外墙", "2025-03-03 10:00"),
        # feedback 3: two classifier runs, the later one wins
        (3, "JT01", 0.5, "auto", "complaint", "公交", "2025-03-01 10:00"),
        (3, None, 0.9, "auto", "complaint", None, "2025-03-05 10:00"),
    ]
    for fid, code, conf, method, kind, terms, at in rows:
        con.execute(
            "INSERT INTO feedback_matches (feedback_id, year, project_code, confidence, rank,"
            " method, message_type, matched_terms, decided_at)"
            " VALUES (?, 2025, ?, ?, 1, ?, ?, ?, CAST(? AS TIMESTAMPTZ))",
            [fid, code, conf, method, kind, terms, at],
        )
    sql = (
        "WITH rank1_matches AS (SELECT * FROM feedback_matches WHERE year = 2025 AND rank = 1) "
        "SELECT feedback_id, project_code, method, message_type, matched_terms "
        "FROM {include:deciding_matches} ORDER BY 1"
    )
    assert "{include" not in db.load_sql("queries/status_feedback.sql")
    assert con.execute(db.expand_includes(sql)).fetchall() == [
        (1, "JY02", "manual", "complaint", None),
        (2, "ZF02", "manual", "inquiry", "加梯"),
        (3, None, "auto", "complaint", None),
    ]
