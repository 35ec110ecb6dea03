-- Problems (project, problem key) already with a unit in a feedback letter that is still open
-- (draft, issued or overdue): new messages about them are not forwarded again meanwhile.
SELECT i.project_code, i.problem_key, l.letter_no
FROM letter_items AS i
JOIN letters AS l USING (letter_no)
WHERE l.kind = 'feedback_letter' AND i.year = $year
  AND l.status IN ('draft', 'issued', 'overdue')
  AND i.problem_key IS NOT NULL
ORDER BY l.letter_no;
