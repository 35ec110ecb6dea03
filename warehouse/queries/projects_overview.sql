-- One row per project of a year, with its latest known status if any (dashboard 总览).
SELECT p.code, p.category, p.name, p.unit, p.target, p.target_value, p.target_unit,
       p.start_date, p.due_date,
       s.as_of, s.checkpoint, s.expected_pct, s.reported_pct, s.gap_pct, s.status
FROM projects AS p
LEFT JOIN (
    SELECT * FROM project_status
    WHERE year = $year
    QUALIFY row_number() OVER (PARTITION BY project_code ORDER BY as_of DESC) = 1
) AS s ON s.project_code = p.code
WHERE p.year = $year
ORDER BY p.category, p.code;
