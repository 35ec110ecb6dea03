-- Residents' messages about a year's projects up to $as_of that no letter has forwarded yet.
-- Each counts for its rank-1 match; an editor's manual decision beats the classifier's, and
-- within a method the latest wins. A manual decision without terms keeps the classifier's terms
-- for the same project (as in status_feedback.sql). Praise is not a problem to forward.
WITH decisions AS (
    SELECT m.feedback_id, m.project_code, m.message_type,
           row_number() OVER newest_first AS pick,
           first_value(m.message_type IGNORE NULLS) OVER (
               newest_first ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
           ) AS known_type,
           first_value(m.matched_terms IGNORE NULLS) OVER (
               PARTITION BY m.feedback_id, m.project_code
               ORDER BY (m.method = 'manual') DESC, m.decided_at DESC, m.confidence DESC
               ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
           ) AS known_terms
    FROM feedback_matches AS m
    WHERE m.year = $year AND m.rank = 1
    WINDOW newest_first AS (
        PARTITION BY m.feedback_id
        ORDER BY (m.method = 'manual') DESC, m.decided_at DESC, m.confidence DESC
    )
)
SELECT f.feedback_id, d.project_code, p.name, p.unit, d.known_terms AS matched_terms,
       coalesce(d.message_type, d.known_type) AS message_type, f.text, f.submitter,
       CAST(timezone('Asia/Shanghai', coalesce(f.submitted_at, f.ingested_at)) AS DATE) AS submitted_on,
       coalesce(f.likes, 0) AS likes, f.channel
FROM decisions AS d
JOIN feedback AS f USING (feedback_id)
JOIN projects AS p ON p.year = $year AND p.code = d.project_code
WHERE d.pick = 1
  AND d.project_code IS NOT NULL
  AND coalesce(coalesce(d.message_type, d.known_type), '') <> 'praise'
  AND CAST(timezone('Asia/Shanghai', coalesce(f.submitted_at, f.ingested_at)) AS DATE) <= $as_of
  AND NOT EXISTS (SELECT 1 FROM letter_item_feedback AS x WHERE x.feedback_id = f.feedback_id)
ORDER BY p.unit, d.project_code, f.feedback_id;
