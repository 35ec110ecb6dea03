-- The newest $limit messages of one project, for grouping into hot issues (dashboard 项目详情),
-- from the TEMP table project_messages (dash_project_messages.sql, same connection). Only the
-- rows kept are joined to feedback for their text, which is the normalised, PII-masked
-- feedback.text (text_raw is never read here). Columns in queries.IssueMessage order.
WITH latest AS (
    SELECT feedback_id, ts, matched_terms
    FROM project_messages
    ORDER BY ts DESC, feedback_id DESC
    LIMIT $limit
)
SELECT l.feedback_id, f.text, l.ts AS submitted_at, coalesce(f.likes, 0) AS likes,
       f.district, f.observation_point, CAST($code AS VARCHAR) AS project_code, l.matched_terms
FROM latest AS l
JOIN feedback AS f ON f.feedback_id = l.feedback_id
ORDER BY l.ts DESC, l.feedback_id DESC;
