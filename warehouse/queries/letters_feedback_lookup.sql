-- A rating's reference to a resident item: the source's own id (e.g. a 民意直通车 id) or the
-- warehouse feedback_id, with the item's current rank-1 project (manual beats auto).
WITH hits AS (
    SELECT feedback_id FROM feedback WHERE source_id = $ref
    UNION
    SELECT feedback_id FROM feedback WHERE CAST(feedback_id AS VARCHAR) = $ref
),
decisions AS (
    SELECT m.feedback_id, m.project_code,
           row_number() OVER (
               PARTITION BY m.feedback_id
               ORDER BY (m.method = 'manual') DESC, m.decided_at DESC, m.confidence DESC
           ) AS pick
    FROM feedback_matches AS m
    SEMI JOIN hits USING (feedback_id)
    WHERE m.year = $year AND m.rank = 1
)
SELECT h.feedback_id, d.project_code
FROM hits AS h
LEFT JOIN decisions AS d ON d.feedback_id = h.feedback_id AND d.pick = 1
ORDER BY h.feedback_id;
