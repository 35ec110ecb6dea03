-- Residents' feedback about a year's projects submitted between $window_start and $as_of
-- (Asia/Shanghai dates; a message without a submission time counts from when it was ingested).
-- Each message counts for its deciding rank-1 match (_deciding_matches.sql: an editor's manual
-- decision over the classifier's, within each method the latest).
WITH recent AS (
    SELECT feedback_id, text,
           CAST(timezone('Asia/Shanghai', coalesce(submitted_at, ingested_at)) AS DATE) AS submitted_on
    FROM feedback
),
in_window AS (
    SELECT * FROM recent WHERE submitted_on BETWEEN $window_start AND $as_of
),
rank1_matches AS (
    SELECT m.*
    FROM feedback_matches AS m
    SEMI JOIN in_window AS w ON w.feedback_id = m.feedback_id
    WHERE m.year = $year AND m.rank = 1
)
SELECT w.feedback_id, d.project_code, w.submitted_on, d.message_type, w.text, d.matched_terms
FROM {include:deciding_matches} AS d
JOIN in_window AS w USING (feedback_id)
WHERE d.project_code IS NOT NULL
ORDER BY d.project_code, w.feedback_id;
