-- Rejected rows, newest first (dashboard 数据质量: the table and its CSV download), optionally
-- of one run ($run_id NULL: all runs). At most $limit rows.
SELECT run_id, source, file, row_number, reason, raw,
       strftime(timezone('Asia/Shanghai', rejected_at), '%Y-%m-%d %H:%M:%S') AS rejected
FROM rejected_rows
WHERE $run_id IS NULL OR run_id = $run_id
ORDER BY rejected_at DESC, file, row_number
LIMIT $limit;
