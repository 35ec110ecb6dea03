-- The letters register of a year (dashboard 函件), newest first, optionally only some statuses
-- ($statuses: a list; empty means all). At most $limit rows.
SELECT letter_no, kind, unit, issued_on, due_on, status, path_docx, path_pdf,
       strftime(timezone('Asia/Shanghai', created_at), '%Y-%m-%d %H:%M') AS created
FROM letters
WHERE year = $year
  AND (len($statuses) = 0 OR list_contains($statuses, status))
ORDER BY serial DESC
LIMIT $limit;
