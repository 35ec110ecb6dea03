-- Units' milestone plans for a year's projects (status engine: 时序进度 and 年初问计划).
SELECT project_code, planned_on, planned_pct
FROM project_milestones
WHERE year = $year
ORDER BY project_code, planned_on;
