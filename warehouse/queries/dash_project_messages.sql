-- Residents' messages about one project, kept in a TEMP table for the connection that runs this
-- (dashboard 项目详情), so the message list and the summary read ~1/55 of the matches once
-- instead of twice. Temp tables work on a read-only connection and vanish with it.
-- A message belongs to the project when its deciding rank-1 match names it: an editor's manual
-- decision over the classifier's, within each method the latest, then the most confident (as
-- status_feedback.sql). A manual decision that leaves type or terms empty keeps the classifier's
-- (terms only from decisions for the same project).
CREATE OR REPLACE TEMP TABLE project_messages AS
WITH named AS (
    SELECT DISTINCT feedback_id
    FROM feedback_matches
    WHERE year = $year AND rank = 1 AND project_code = $code
),
decisions AS (
    SELECT m.feedback_id, m.project_code, m.confidence, m.method, m.message_type, m.urgency,
           m.matched_terms,
           first_value(m.message_type IGNORE NULLS) OVER newest_first AS known_type,
           first_value(m.matched_terms IGNORE NULLS) OVER (
               PARTITION BY m.feedback_id, m.project_code
               ORDER BY (m.method = 'manual') DESC, m.decided_at DESC, m.confidence DESC
               ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
           ) AS known_terms,
           row_number() OVER (
               PARTITION BY m.feedback_id
               ORDER BY (m.method = 'manual') DESC, m.decided_at DESC, m.confidence DESC
           ) AS pick
    FROM feedback_matches AS m
    SEMI JOIN named AS n ON n.feedback_id = m.feedback_id
    WHERE m.year = $year AND m.rank = 1
    WINDOW newest_first AS (
        PARTITION BY m.feedback_id
        ORDER BY (m.method = 'manual') DESC, m.decided_at DESC, m.confidence DESC
        ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
    )
)
SELECT d.feedback_id,
       coalesce(f.submitted_at, f.ingested_at) AS ts,
       coalesce(d.message_type, d.known_type) AS message_type,
       d.urgency, d.confidence, d.method,
       coalesce(d.matched_terms, d.known_terms) AS matched_terms
FROM decisions AS d
JOIN feedback AS f ON f.feedback_id = d.feedback_id
WHERE d.pick = 1 AND d.project_code = $code;
