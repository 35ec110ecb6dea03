-- Messages by id with their deciding match (_deciding_matches.sql) and the classifier's
-- candidates (dashboard 民情: the rows of the triage queue). $ids is a short list; the text is
-- the masked feedback.text.
WITH ids AS (
    SELECT DISTINCT unnest($ids) AS feedback_id
),
f AS (
    SELECT feedback_id, coalesce(submitted_at, ingested_at) AS ts, channel, observation_point,
           district, text
    FROM feedback
    SEMI JOIN ids USING (feedback_id)
),
m AS (
    SELECT feedback_id, project_code, confidence, rank, method, urgency, message_type,
           matched_terms, decided_at, decided_by
    FROM feedback_matches
    SEMI JOIN ids USING (feedback_id)
    WHERE year = $year
),
rank1_matches AS (
    SELECT * FROM m WHERE rank = 1
),
last_auto AS (
    SELECT feedback_id, max(decided_at) AS decided_at
    FROM m
    WHERE method = 'auto'
    GROUP BY feedback_id
),
candidates AS (
    -- The classifier's latest ranked guesses, e.g. "JY01 0.42；JY03 0.21".
    SELECT m.feedback_id,
           string_agg(m.project_code || ' ' || printf('%.2f', m.confidence), '；' ORDER BY m.rank)
               AS candidates,
           list(m.project_code ORDER BY m.rank) AS candidate_codes
    FROM m
    JOIN last_auto AS a ON a.feedback_id = m.feedback_id AND a.decided_at = m.decided_at
    WHERE m.method = 'auto' AND m.project_code IS NOT NULL
    GROUP BY m.feedback_id
)
SELECT f.feedback_id,
       strftime(timezone('Asia/Shanghai', f.ts), '%Y-%m-%d %H:%M') AS submitted,
       f.channel, f.observation_point, f.district, f.text,
       d.project_code, d.confidence, d.method, d.decided_by,
       d.message_type, d.matched_terms,
       c.candidates, c.candidate_codes
FROM f
LEFT JOIN {include:deciding_matches} AS d USING (feedback_id)
LEFT JOIN candidates AS c USING (feedback_id)
ORDER BY f.feedback_id DESC;
