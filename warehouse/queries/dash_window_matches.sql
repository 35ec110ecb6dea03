-- The messages received between $start and $end and their rank-1 matches of $year, kept in TEMP
-- tables for the connection that runs this (dashboard 民情), so the hot issues and the triage
-- queue read the million-row tables once between them. Temp tables work on a read-only
-- connection and vanish with it. The two statements run in order.
--
-- k orders a message's decisions as status_feedback.sql does (manual over auto, then the newest,
-- then the most confident) as one sortable BIGINT: manual bit | epoch ms | confidence in
-- millionths. An aggregate's max(k) / arg_max(.., k) then replaces a window sort, several times
-- faster on a million rows; decision times are compared to the millisecond.

-- name: feedback
CREATE OR REPLACE TEMP TABLE window_feedback AS
SELECT feedback_id
FROM feedback
WHERE coalesce(submitted_at, ingested_at) >= $start
  AND coalesce(submitted_at, ingested_at) < $end;

-- name: matches
CREATE OR REPLACE TEMP TABLE window_matches AS
SELECT m.feedback_id, m.project_code, m.confidence, m.method, m.urgency, m.matched_terms,
       (CAST(m.method = 'manual' AS BIGINT) << 62)
           + (epoch_ms(m.decided_at) << 20)
           + CAST(round(greatest(0, least(1, m.confidence)) * 1000000) AS BIGINT) AS k
FROM feedback_matches AS m
SEMI JOIN window_feedback AS w ON w.feedback_id = m.feedback_id
WHERE m.year = $year AND m.rank = 1;
