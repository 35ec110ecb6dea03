-- Overdue letters that need a 催办函: not themselves urge letters, and without an urge letter
-- still open (draft, issued or overdue) for them.
SELECT l.letter_no, l.year, l.kind, l.unit, l.title, l.letter_date, l.issued_on, l.due_on
FROM letters AS l
WHERE l.status = 'overdue' AND l.kind <> 'urge_letter'
  AND NOT EXISTS (
      SELECT 1 FROM letters AS u
      WHERE u.refers_to = l.letter_no AND u.status IN ('draft', 'issued', 'overdue')
  )
ORDER BY l.year, l.serial;
