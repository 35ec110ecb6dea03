-- A project's milestone plan (dashboard 项目详情: the 时序进度 line follows it where it exists).
SELECT planned_on, planned_pct, description
FROM project_milestones
WHERE year = $year AND project_code = $code
ORDER BY planned_on;
