-- A year's recent messages with their classifier project (rank 1), for hot-issue grouping.
SELECT f.feedback_id, m.project_code, f.text, f.submitted_at, coalesce(f.likes, 0) AS likes,
       coalesce(f.district, f.observation_point) AS place
FROM feedback_matches AS m
JOIN feedback AS f USING (feedback_id)
WHERE m.year = $year AND m.method = 'auto' AND m.rank = 1 AND m.project_code IS NOT NULL
  AND f.submitted_at >= $since
ORDER BY f.feedback_id;
