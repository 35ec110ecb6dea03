-- Residents' messages about one project, kept in a TEMP table for the connection that runs this
-- (dashboard 项目详情), so the message list and the summary read ~1/55 of the matches once
-- instead of twice. Temp tables work on a read-only connection and vanish with it.
-- A message belongs to the project when its deciding rank-1 match names it
-- (_deciding_matches.sql).
CREATE OR REPLACE TEMP TABLE project_messages AS
WITH named AS (
    SELECT DISTINCT feedback_id
    FROM feedback_matches
    WHERE year = $year AND rank = 1 AND project_code = $code
),
rank1_matches AS (
    SELECT m.*
    FROM feedback_matches AS m
    SEMI JOIN named AS n ON n.feedback_id = m.feedback_id
    WHERE m.year = $year AND m.rank = 1
)
SELECT d.feedback_id,
       coalesce(f.submitted_at, f.ingested_at) AS ts,
       d.message_type, d.urgency, d.confidence, d.method, d.matched_terms
FROM {include:deciding_matches} AS d
JOIN feedback AS f ON f.feedback_id = d.feedback_id
WHERE d.project_code = $code;
