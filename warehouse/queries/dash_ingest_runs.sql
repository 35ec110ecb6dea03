-- The latest ingestion runs (dashboard 数据质量), at most $limit, newest first.
SELECT run_id, source,
       strftime(timezone('Asia/Shanghai', started_at), '%Y-%m-%d %H:%M:%S') AS started,
       strftime(timezone('Asia/Shanghai', finished_at), '%Y-%m-%d %H:%M:%S') AS finished,
       CAST(epoch(finished_at) - epoch(started_at) AS DOUBLE) AS seconds,
       rows_read, rows_loaded, rows_rejected, rows_duplicate, status, message
FROM ingest_runs
ORDER BY started_at DESC
LIMIT $limit;
