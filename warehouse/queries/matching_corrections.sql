-- Supervisors' latest decision per message of a year: what the classifier learns from.
SELECT f.text, m.project_code
FROM feedback_matches AS m
JOIN feedback AS f USING (feedback_id)
WHERE m.year = $year AND m.method = 'manual'
QUALIFY row_number() OVER (PARTITION BY m.feedback_id ORDER BY m.decided_at DESC) = 1;
