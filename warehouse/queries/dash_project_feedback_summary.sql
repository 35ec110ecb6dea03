-- What residents say about one project (dashboard 项目详情), from the TEMP table
-- project_messages (dash_project_messages.sql, same connection), as (kind, key, n) rows:
-- kind 'type': messages per message type (key NULL: type unknown);
-- kind 'term': the $terms most frequent matched terms (hot issues), a message counted once per
-- term (_term_counts.sql).
WITH term_source AS (
    SELECT matched_terms FROM project_messages
),
terms AS (
    SELECT term, n
    FROM {include:term_counts}
    ORDER BY n DESC, term
    LIMIT $terms
)
SELECT 'type' AS kind, message_type AS key, count(*) AS n
FROM project_messages
GROUP BY message_type
UNION ALL
SELECT 'term', term, n FROM terms
ORDER BY kind DESC, n DESC, key;
