-- Replies (回函) to a year's letters (dashboard 函件), oldest first. letter_no is the letter the
-- reply answers (the one carrying the items), via_letter_no the number it was recorded against
-- (the same letter, or its 催办函). The text is read whole because it is PII-masked in Python
-- before it is cut to an excerpt (a cut could split a phone number the masking must see whole).
SELECT r.reply_id, r.letter_no, r.via_letter_no, r.received_on, r.file_name, r.text,
       r.recorded_by,
       strftime(timezone('Asia/Shanghai', r.recorded_at), '%Y-%m-%d %H:%M') AS recorded
FROM letter_replies AS r
WHERE r.letter_no IN (SELECT letter_no FROM letters WHERE year = $year)
   OR r.via_letter_no IN (SELECT letter_no FROM letters WHERE year = $year)
ORDER BY r.received_on, r.reply_id;
