-- One row per project of a year with its stored status on $as_of, or the latest before it
-- (dashboard 总览). Projects never evaluated by then have NULL status columns.
SELECT p.code, p.category, p.name, p.unit, p.target, p.target_value, p.target_unit,
       p.start_date, p.due_date,
       s.as_of, s.checkpoint, s.expected_pct, s.reported_pct, s.gap_pct, s.status,
       s.report_date, s.feedback_30d, s.complaints_30d, s.conflict,
       array_to_string(s.hot_terms, '、') AS hot_terms,
       array_to_string(s.plan_missing, ',') AS plan_missing,
       s.final_value, s.target_met
FROM projects AS p
LEFT JOIN (
    SELECT *
    FROM project_status
    WHERE year = $year AND as_of <= $as_of
    QUALIFY row_number() OVER (PARTITION BY project_code ORDER BY as_of DESC) = 1
) AS s ON s.project_code = p.code
WHERE p.year = $year
ORDER BY p.category, p.code;
