-- Store repeat counts (from the registered frame "repeats") on the classifier's matches and
-- derive urgency from the text's own urgency, so running it again changes nothing.
UPDATE feedback_matches AS m
SET repeat_count = r.repeat_count,
    urgency = least(3, coalesce(m.text_urgency, m.urgency, 0)
                       + CASE WHEN r.repeat_count >= $min_reports THEN 1 ELSE 0 END)
FROM repeats AS r
WHERE m.feedback_id = r.feedback_id AND m.year = $year AND m.method = 'auto';
