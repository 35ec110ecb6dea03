-- Every stored status of a project (dashboard 项目详情: how its rating changed).
SELECT as_of, checkpoint, expected_pct, reported_pct, gap_pct, status, report_date,
       feedback_30d, complaints_30d, conflict, array_to_string(hot_terms, '、') AS hot_terms
FROM project_status
WHERE year = $year AND project_code = $code
ORDER BY as_of;
