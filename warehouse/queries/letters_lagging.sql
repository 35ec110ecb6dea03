-- Projects behind their 时序进度 (or without a usable report) at $as_of, with what a 进度提醒函
-- prints: the stored project_status of that date joined to the current registry.
SELECT s.project_code, p.name, p.target, p.unit, s.status, s.expected_pct, s.reported_pct,
       s.report_date
FROM project_status AS s
JOIN projects AS p ON p.year = s.year AND p.code = s.project_code
WHERE s.year = $year AND s.as_of = $as_of
  AND s.status IN ('behind', 'seriously_behind', 'missing')
ORDER BY p.unit, s.project_code;
