-- Residents' messages about a year's projects up to $as_of that no letter has forwarded yet.
-- Each counts for its deciding rank-1 match (_deciding_matches.sql). Praise is not a problem to
-- forward.
WITH rank1_matches AS (
    SELECT * FROM feedback_matches WHERE year = $year AND rank = 1
)
SELECT f.feedback_id, d.project_code, p.name, p.unit, d.matched_terms, d.message_type, f.text,
       f.submitter,
       CAST(timezone('Asia/Shanghai', coalesce(f.submitted_at, f.ingested_at)) AS DATE) AS submitted_on,
       coalesce(f.likes, 0) AS likes, f.channel
FROM {include:deciding_matches} AS d
JOIN feedback AS f USING (feedback_id)
JOIN projects AS p ON p.year = $year AND p.code = d.project_code
WHERE d.project_code IS NOT NULL
  AND coalesce(d.message_type, '') <> 'praise'
  AND CAST(timezone('Asia/Shanghai', coalesce(f.submitted_at, f.ingested_at)) AS DATE) <= $as_of
  AND NOT EXISTS (SELECT 1 FROM letter_item_feedback AS x WHERE x.feedback_id = f.feedback_id)
ORDER BY p.unit, d.project_code, f.feedback_id;
