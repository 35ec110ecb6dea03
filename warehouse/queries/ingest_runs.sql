-- Bookkeeping of ingestion runs (one ingest_runs row per run) and rejected rows.
-- Statements are selected by name by livelihood_monitor.ingest_feedback.statements().

-- name: start_run
INSERT INTO ingest_runs (run_id, source, started_at, status)
VALUES ($run_id, $source, current_timestamp, 'running');

-- name: add_counts
-- Runs in the same transaction as the batch it counts, so the counts match what was committed.
UPDATE ingest_runs
SET rows_read = rows_read + $read,
    rows_loaded = rows_loaded + $loaded,
    rows_rejected = rows_rejected + $rejected,
    rows_duplicate = rows_duplicate + $duplicate
WHERE run_id = $run_id;

-- name: finish_run
UPDATE ingest_runs
SET status = $status, finished_at = current_timestamp, message = $message
WHERE run_id = $run_id;

-- name: insert_rejects
-- ``rejects`` is a registered Arrow table (row_number, reason, raw, file).
INSERT INTO rejected_rows (run_id, source, file, row_number, reason, raw)
SELECT $run_id, $source, file, row_number, reason, raw FROM rejects;

-- name: get_state
SELECT value FROM source_state WHERE source = $source AND key = $key;

-- name: set_state
INSERT INTO source_state (source, key, value, updated_at)
VALUES ($source, $key, $value, current_timestamp)
ON CONFLICT (source, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at;

-- name: run_rejects
-- The first rejected rows of a run, for the operator's summary.
SELECT file, reason
FROM rejected_rows
WHERE run_id = $run_id
ORDER BY file, row_number
LIMIT $limit;
