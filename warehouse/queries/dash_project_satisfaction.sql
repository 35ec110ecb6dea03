-- 满意度 of one project (dashboard 项目详情): every rating (item and project level) scored
-- 满意 = 100, 基本满意 = 60, 不满意 = 0 (the stored score, as letters_satisfaction_scores.sql),
-- the mean, and the count of each rating: one row per rater kind ('resident', 'deputy') and one
-- for all raters (rater_kind NULL, is_total TRUE). A project without ratings gives only the
-- total row, with ratings = 0.
SELECT GROUPING(rater_kind) = 1 AS is_total,
       rater_kind,
       count(*) AS ratings,
       round(avg(score), 1) AS score,
       count(*) FILTER (WHERE rating = '满意') AS satisfied,
       count(*) FILTER (WHERE rating = '基本满意') AS basically_satisfied,
       count(*) FILTER (WHERE rating = '不满意') AS dissatisfied
FROM satisfaction_ratings
WHERE year = $year AND project_code = $code
GROUP BY GROUPING SETS ((rater_kind), ())
ORDER BY is_total, rater_kind DESC;
