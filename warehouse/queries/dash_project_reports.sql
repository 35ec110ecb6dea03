-- A project's progress reports, oldest first (dashboard 项目详情: chart and table).
SELECT report_date, progress_pct, completed_value, note, unit, flags, source,
       strftime(timezone('Asia/Shanghai', ingested_at), '%Y-%m-%d %H:%M') AS received
FROM progress_reports
WHERE year = $year AND project_code = $code
ORDER BY report_date, ingested_at;
