-- The items of one letter, with the project's name, and the messages each forwarded.
SELECT i.item_id, i.position, i.year, i.project_code, coalesce(p.name, i.project_code) AS name,
       i.problem_key, i.problem_label, i.feedback_count, i.status_at_letter,
       i.expected_pct, i.reported_pct,
       list(x.feedback_id ORDER BY x.feedback_id) FILTER (WHERE x.feedback_id IS NOT NULL)
           AS feedback_ids
FROM letter_items AS i
LEFT JOIN projects AS p ON p.year = i.year AND p.code = i.project_code
LEFT JOIN letter_item_feedback AS x USING (item_id)
WHERE i.letter_no = $letter_no
GROUP BY ALL
ORDER BY i.position;
