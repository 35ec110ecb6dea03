-- The register, newest first; $status NULL lists every status, $year NULL every year.
SELECT letter_no, year, serial, kind, unit, status, letter_date, issued_on, due_on, refers_to,
       title, path_docx, path_pdf, due_note, as_of
FROM letters
WHERE ($status IS NULL OR status = $status)
  AND ($year IS NULL OR year = $year)
ORDER BY year DESC, serial DESC;
