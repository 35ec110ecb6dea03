-- Letters a year's committee sent to one implementing unit (dashboard 项目详情).
SELECT letter_no, kind, issued_on, due_on, status, path_docx, path_pdf
FROM letters
WHERE year = $year AND unit = $unit
ORDER BY serial DESC;
