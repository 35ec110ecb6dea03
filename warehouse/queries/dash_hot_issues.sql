-- Hot issues of the window's messages (dashboard 民情), from the TEMP table window_matches
-- (dash_window_matches.sql, same connection), as (kind, key, n):
-- kind 'term': the $limit most frequent matched terms of the messages' rank-1 matches, each
-- message counted once per term (_term_counts.sql);
-- kind 'project': the $limit projects with most messages by the deciding match (arg_max by k).
WITH term_source AS (
    SELECT matched_terms FROM window_matches
),
terms AS (
    SELECT term, n
    FROM {include:term_counts}
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
