-- Id range of a year's unmatched feedback, to split classification into parallel chunks.
SELECT min(f.feedback_id), max(f.feedback_id)
FROM feedback AS f
WHERE year(timezone('Asia/Shanghai', coalesce(f.submitted_at, f.ingested_at))) = $year
  AND NOT EXISTS (
      SELECT 1 FROM feedback_matches AS m
      WHERE m.feedback_id = f.feedback_id AND m.year = $year AND m.method = 'auto'
        AND m.decided_at >= coalesce(f.updated_at, f.ingested_at)
  );
