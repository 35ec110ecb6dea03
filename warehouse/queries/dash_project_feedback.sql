-- The newest $limit of a project's messages (dashboard 项目详情), from the TEMP table
-- project_messages (dash_project_messages.sql, same connection). feedback.text is the
-- normalised, PII-masked text; text_raw is never read here. The text column is read only for
-- the rows shown.
WITH latest AS (
    SELECT *
    FROM project_messages
    ORDER BY ts DESC, feedback_id DESC
    LIMIT $limit
)
SELECT l.feedback_id,
       strftime(timezone('Asia/Shanghai', l.ts), '%Y-%m-%d %H:%M') AS submitted,
       f.channel, f.observation_point, f.district,
       l.message_type, l.urgency, l.confidence, l.method, l.matched_terms,
       f.text
FROM latest AS l
JOIN feedback AS f ON f.feedback_id = l.feedback_id
ORDER BY l.ts DESC, l.feedback_id DESC;
