-- Residents' feedback about a year's projects submitted between $window_start and $as_of
-- (Asia/Shanghai dates; a message without a submission time counts from when it was ingested).
-- Each message counts for its rank-1 match; an editor's manual decision overrides the
-- classifier's, and within each method the latest decision wins. A manual decision that leaves
-- type or terms empty keeps the classifier's (terms only if it chose the same project).
WITH recent AS (
    SELECT feedback_id, text,
           CAST(timezone('Asia/Shanghai', coalesce(submitted_at, ingested_at)) AS DATE) AS submitted_on
    FROM feedback
),
in_window AS (
    SELECT * FROM recent WHERE submitted_on BETWEEN $window_start AND $as_of
),
decisions AS (
    SELECT m.feedback_id, m.project_code, m.message_type, m.matched_terms,
           row_number() OVER newest_first AS pick,
           first_value(m.message_type IGNORE NULLS) OVER (
               newest_first ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
           ) AS known_type,
           -- terms only from decisions for the same project: others explain a wrong match
           first_value(m.matched_terms IGNORE NULLS) OVER (
               PARTITION BY m.feedback_id, m.project_code
               ORDER BY (m.method = 'manual') DESC, m.decided_at DESC, m.confidence DESC
               ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
           ) AS known_terms
    FROM feedback_matches AS m
    SEMI JOIN in_window AS w ON w.feedback_id = m.feedback_id
    WHERE m.year = $year AND m.rank = 1
    WINDOW newest_first AS (
        PARTITION BY m.feedback_id
        ORDER BY (m.method = 'manual') DESC, m.decided_at DESC, m.confidence DESC
    )
)
SELECT w.feedback_id, d.project_code, w.submitted_on,
       coalesce(d.message_type, d.known_type) AS message_type,
       w.text,
       coalesce(d.matched_terms, d.known_terms) AS matched_terms
FROM decisions AS d
JOIN in_window AS w USING (feedback_id)
WHERE d.pick = 1 AND d.project_code IS NOT NULL
ORDER BY d.project_code, w.feedback_id;
