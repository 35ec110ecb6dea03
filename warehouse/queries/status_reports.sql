-- Progress reports of a year's projects up to the as-of date (status engine).
SELECT project_code, report_date, progress_pct, completed_value, ingested_at
FROM progress_reports
WHERE year = $year AND report_date <= $as_of
ORDER BY project_code, report_date, ingested_at;
