-- One letter of the register (the columns of letters_list.sql).
SELECT letter_no, year, serial, kind, unit, status, letter_date, issued_on, due_on, refers_to,
       title, path_docx, path_pdf, due_note, as_of
FROM letters
WHERE letter_no = $letter_no;
