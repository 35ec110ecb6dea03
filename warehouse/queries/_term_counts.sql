-- How many messages name each matched term, as a subquery: a query includes it by writing
-- "include:term_counts" in braces (db.load_sql) after defining a CTE ``term_source`` with a
-- matched_terms column, one row per message. A message counts once per term (list_distinct
-- needs no (term, message) group). Terms are separated by ; (or ；、，, and spaces); replace() is
-- several times faster than translate() or a regex on CJK text.
(
    SELECT term, count(*) AS n
    FROM (
        SELECT unnest(list_distinct(string_split(
                   replace(replace(replace(replace(replace(
                       matched_terms, '；', ';'), '、', ';'), '，', ';'), ',', ';'), ' ', ';'),
                   ';'))) AS term
        FROM term_source
        WHERE matched_terms IS NOT NULL
    )
    WHERE term <> ''
    GROUP BY term
)
