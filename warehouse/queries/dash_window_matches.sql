-- The messages received between $start and $end and their rank-1 matches of $year, kept in TEMP
-- tables for the connection that runs this (dashboard 民情), so the hot issues and the triage
-- queue read the million-row tables once between them. Temp tables work on a read-only
-- connection and vanish with it. The two statements run in order.
--
-- k is the decision key (_decision_key.sql): the deciding match is the one with the largest k, as in
-- _deciding_matches.sql.

-- name: feedback
CREATE OR REPLACE TEMP TABLE window_feedback AS
SELECT feedback_id
FROM feedback
WHERE coalesce(submitted_at, ingested_at) >= $start
  AND coalesce(submitted_at, ingested_at) < $end;

-- name: matches
CREATE OR REPLACE TEMP TABLE window_matches AS
SELECT m.feedback_id, m.project_code, m.confidence, m.method, m.urgency, m.matched_terms,
       {include:decision_key} AS k
FROM feedback_matches AS m
SEMI JOIN window_feedback AS w ON w.feedback_id = m.feedback_id
WHERE m.year = $year AND m.rank = 1;
