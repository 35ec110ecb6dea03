-- The window's newest $limit messages about any of the year's projects, for grouping into hot
-- issues (dashboard 民情), from the TEMP table window_matches (dash_window_matches.sql, same
-- connection). A message's project is its deciding match's (the largest k); its terms are those
-- of the newest decision for that same project that has terms (an editor's manual decision
-- usually has none). Messages about none of the projects, or not classified, are left out.
-- feedback.text is the normalised, PII-masked text. Columns in queries.IssueMessage order.
WITH deciding AS (
    SELECT feedback_id, arg_max_null(project_code, k) AS project_code
    FROM window_matches
    GROUP BY feedback_id
),
latest AS (
    SELECT d.feedback_id, d.project_code, coalesce(f.submitted_at, f.ingested_at) AS ts
    FROM deciding AS d
    JOIN feedback AS f ON f.feedback_id = d.feedback_id
    WHERE d.project_code IS NOT NULL
    ORDER BY ts DESC, d.feedback_id DESC
    LIMIT $limit
),
terms AS (
    SELECT m.feedback_id, arg_max(m.matched_terms, m.k) AS matched_terms
    FROM window_matches AS m
    JOIN latest AS l ON l.feedback_id = m.feedback_id AND l.project_code = m.project_code
    WHERE m.matched_terms IS NOT NULL
    GROUP BY m.feedback_id
)
SELECT l.feedback_id, f.text, l.ts AS submitted_at, coalesce(f.likes, 0) AS likes,
       f.district, f.observation_point, l.project_code, t.matched_terms
FROM latest AS l
JOIN feedback AS f ON f.feedback_id = l.feedback_id
LEFT JOIN terms AS t ON t.feedback_id = l.feedback_id
ORDER BY l.ts DESC, l.feedback_id DESC;
