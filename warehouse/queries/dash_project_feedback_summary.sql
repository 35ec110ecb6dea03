-- What residents say about one project (dashboard 项目详情), from the TEMP table
-- project_messages (dash_project_messages.sql, same connection), as (kind, key, n) rows:
-- kind 'type': messages per message type (key NULL: type unknown);
-- kind 'term': the $terms most frequent matched terms (hot issues), a message counted once per
-- term. Terms are separated by ; (or ；、，, and spaces); replace() is several times faster than
-- translate() or a regex on CJK text.
WITH terms AS (
    SELECT term, count(*) AS n
    FROM (
        SELECT unnest(list_distinct(string_split(
                   replace(replace(replace(replace(replace(
                       matched_terms, '；', ';'), '、', ';'), '，', ';'), ',', ';'), ' ', ';'),
                   ';'))) AS term
        FROM project_messages
        WHERE matched_terms IS NOT NULL
    )
    WHERE term <> ''
    GROUP BY term
    ORDER BY n DESC, term
    LIMIT $terms
)
SELECT 'type' AS kind, message_type AS key, count(*) AS n
FROM project_messages
GROUP BY message_type
UNION ALL
SELECT 'term', term, n FROM terms
ORDER BY kind DESC, n DESC, key;
