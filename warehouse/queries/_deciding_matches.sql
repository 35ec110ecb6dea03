-- The deciding match of each message, as a subquery: a query includes it by writing
-- "include:deciding_matches" in braces (db.load_sql) after defining a CTE ``rank1_matches``: the
-- feedback_matches rows of one year with rank = 1, already narrowed to the messages they need
-- (narrow first: this aggregates every row it is given).
--
-- The deciding match has the largest decision key (_decision_key.sql: manual over auto, then the
-- newest, then the most confident). A decision that leaves type or terms empty keeps the latest
-- known ones: the type from any decision, the terms only from decisions for the same project
-- (terms found for another project explain a wrong match).
(
    SELECT feedback_id, project_code, confidence, method, urgency, decided_at, decided_by,
           coalesce(message_type, known_type) AS message_type,
           coalesce(matched_terms, known_terms) AS matched_terms
    FROM (
        SELECT m.*,
               row_number() OVER newest_first AS pick,
               first_value(m.message_type IGNORE NULLS) OVER (
                   newest_first ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
               ) AS known_type,
               first_value(m.matched_terms IGNORE NULLS) OVER (
                   PARTITION BY m.feedback_id, m.project_code
                   ORDER BY {include:decision_key} DESC
                   ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
               ) AS known_terms
        FROM rank1_matches AS m
        WINDOW newest_first AS (
            PARTITION BY m.feedback_id
            ORDER BY {include:decision_key} DESC
        )
    )
    WHERE pick = 1
)
