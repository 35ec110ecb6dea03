-- Hot issues of the window's messages (dashboard 民情), from the TEMP table window_matches
-- (dash_window_matches.sql, same connection), as (kind, key, n):
-- kind 'term': the $limit most frequent matched terms of the messages' rank-1 matches, each
-- message counted once per term (list_distinct needs no (term, message) group);
-- kind 'project': the $limit projects with most messages by the deciding match (arg_max by k).
WITH terms AS (
    -- Terms are separated by ; (or ；、，, and spaces); replace() is several times faster than
    -- translate() or a regex on CJK text.
    SELECT term, count(*) AS n
    FROM (
        SELECT unnest(list_distinct(string_split(
                   replace(replace(replace(replace(replace(
                       matched_terms, '；', ';'), '、', ';'), '，', ';'), ',', ';'), ' ', ';'),
                   ';'))) AS term
        FROM window_matches
        WHERE matched_terms IS NOT NULL
    )
    WHERE term <> ''
    GROUP BY term
    ORDER BY n DESC, term
    LIMIT $limit
),
deciding AS (
    SELECT feedback_id, arg_max_null(project_code, k) AS project_code
    FROM window_matches
    GROUP BY feedback_id
),
projects AS (
    SELECT project_code, count(*) AS n
    FROM deciding
    WHERE project_code IS NOT NULL
    GROUP BY project_code
    ORDER BY n DESC, project_code
    LIMIT $limit
)
SELECT 'term' AS kind, term AS key, n FROM terms
UNION ALL
SELECT 'project', project_code, n FROM projects
ORDER BY kind DESC, n DESC, key;
