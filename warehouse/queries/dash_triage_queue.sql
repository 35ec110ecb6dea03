-- The triage queue (dashboard 民情), from the TEMP tables window_feedback and window_matches
-- (dash_window_matches.sql, same connection): the window's messages whose deciding match is the
-- classifier's and is either "none of the projects" or below $threshold confidence, plus
-- messages not classified at all. A manual decision takes a message out of the queue.
-- The deciding match is the one with the largest k (see dash_window_matches.sql).
--
-- Rows: row_kind 'count' (reason, n) for each reason, then row_kind 'item' (feedback_id, reason,
-- urgency) for the $limit most urgent, newest-first messages of reason $kind ('all' for any).
-- Reasons: none | low | unclassified.
WITH r AS (
    SELECT feedback_id, urgency, k,
           method = 'auto' AND (project_code IS NULL OR confidence < $threshold) AS low,
           project_code IS NULL AS no_project
    FROM window_matches
    UNION ALL
    -- A marker below every real decision: it wins only where no match exists.
    SELECT feedback_id, NULL, -1, TRUE, TRUE FROM window_feedback
),
g AS (
    SELECT feedback_id,
           max(k) AS k_all,
           max(k) FILTER (WHERE low) AS k_low,
           arg_max_null(urgency, k) AS urgency,
           arg_max(no_project, k) AS no_project
    FROM r
    GROUP BY feedback_id
),
q AS (
    SELECT feedback_id, urgency,
           CASE WHEN k_all < 0 THEN 'unclassified' WHEN no_project THEN 'none' ELSE 'low' END AS reason
    FROM g
    WHERE k_low = k_all
),
counts AS (
    SELECT reason, count(*) AS n FROM q GROUP BY reason
),
items AS (
    SELECT feedback_id, reason, urgency
    FROM q
    WHERE $kind = 'all' OR reason = $kind
    ORDER BY urgency DESC NULLS LAST, feedback_id DESC
    LIMIT $limit
)
SELECT 'count' AS row_kind, NULL AS feedback_id, reason, NULL AS urgency, n FROM counts
UNION ALL
SELECT 'item', feedback_id, reason, urgency, NULL FROM items
ORDER BY row_kind, urgency DESC NULLS LAST, feedback_id DESC, reason;
