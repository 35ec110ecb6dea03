-- 满意度 per project: 满意 = 100, 基本满意 = 60, 不满意 = 0, the mean of every rating (item and
-- project level), and the same by rater kind. Projects without ratings are listed with NULLs.
SELECT p.code, p.name, p.unit,
       count(r.rating_id) AS ratings,
       round(avg(r.score), 1) AS score,
       round(avg(r.score) FILTER (WHERE r.rater_kind = 'resident'), 1) AS resident_score,
       round(avg(r.score) FILTER (WHERE r.rater_kind = 'deputy'), 1) AS deputy_score,
       count(r.rating_id) FILTER (WHERE r.rating = '满意') AS satisfied,
       count(r.rating_id) FILTER (WHERE r.rating = '基本满意') AS basically_satisfied,
       count(r.rating_id) FILTER (WHERE r.rating = '不满意') AS dissatisfied,
       count(r.rating_id) FILTER (WHERE r.level = 'item') AS item_ratings
FROM projects AS p
LEFT JOIN satisfaction_ratings AS r ON r.year = p.year AND r.project_code = p.code
WHERE p.year = $year
GROUP BY p.code, p.name, p.unit
ORDER BY score ASC NULLS LAST, p.code;
