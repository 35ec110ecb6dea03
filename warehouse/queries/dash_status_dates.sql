-- Dates the status engine was run for a year (dashboard 总览: checkpoint and as-of selectors).
SELECT as_of, any_value(checkpoint) AS checkpoint, count(*) AS projects
FROM project_status
WHERE year = $year
GROUP BY as_of
ORDER BY as_of;
