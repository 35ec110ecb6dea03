-- Feedback of a year that the classifier has not matched yet, or that changed since it was
-- matched (a source re-sent an edited record), oldest first, in batches.
SELECT f.feedback_id, f.text
FROM feedback AS f
WHERE year(timezone('Asia/Shanghai', coalesce(f.submitted_at, f.ingested_at))) = $year
  AND f.feedback_id > $after AND f.feedback_id <= $until
  AND NOT EXISTS (
      SELECT 1 FROM feedback_matches AS m
      WHERE m.feedback_id = f.feedback_id AND m.year = $year AND m.method = 'auto'
        AND m.decided_at >= coalesce(f.updated_at, f.ingested_at)
  )
ORDER BY f.feedback_id
LIMIT $limit;
