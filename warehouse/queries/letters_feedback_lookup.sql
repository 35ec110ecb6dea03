-- A rating's reference to a resident item: the source's own id (e.g. a 民意直通车 id) or the
-- warehouse feedback_id, with the item's current deciding project (_deciding_matches.sql).
WITH hits AS (
    SELECT feedback_id FROM feedback WHERE source_id = $ref
    UNION
    SELECT feedback_id FROM feedback WHERE CAST(feedback_id AS VARCHAR) = $ref
),
rank1_matches AS (
    SELECT m.*
    FROM feedback_matches AS m
    SEMI JOIN hits USING (feedback_id)
    WHERE m.year = $year AND m.rank = 1
)
SELECT h.feedback_id, d.project_code
FROM hits AS h
LEFT JOIN {include:deciding_matches} AS d ON d.feedback_id = h.feedback_id
ORDER BY h.feedback_id;
