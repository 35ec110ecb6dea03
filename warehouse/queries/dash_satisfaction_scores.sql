-- 满意度 per rated project of a year (dashboard 总览: a column of the project table): the mean
-- of the stored scores (满意 = 100, 基本满意 = 60, 不满意 = 0) and the number of ratings.
-- Projects without ratings have no row.
SELECT project_code AS code, count(*) AS ratings, round(avg(score), 1) AS satisfaction
FROM satisfaction_ratings
WHERE year = $year
GROUP BY project_code
ORDER BY project_code;
