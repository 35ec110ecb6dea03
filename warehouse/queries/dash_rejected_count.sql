-- How many rows were rejected (dashboard 数据质量), optionally of one run ($run_id NULL: all).
SELECT count(*) AS n FROM rejected_rows WHERE $run_id IS NULL OR run_id = $run_id;
