-- Projects a 进度提醒函 already covered in a month (by letter date), with the status then.
-- Drafts count: a pending draft already says it; deleted drafts are gone from letters.
SELECT i.project_code, i.status_at_letter, l.letter_no
FROM letter_items AS i
JOIN letters AS l USING (letter_no)
WHERE l.kind = 'reminder_letter' AND i.year = $year
  AND coalesce(l.letter_date, l.as_of, l.issued_on) >= $month_start
  AND coalesce(l.letter_date, l.as_of, l.issued_on) < $month_end
ORDER BY i.project_code, l.letter_no;
