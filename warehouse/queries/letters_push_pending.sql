-- 民意直通车 items forwarded by a letter that has been answered, whose result has not reached
-- the resident yet (never pushed, or the last push failed). The latest reply wins.
SELECT f.feedback_id, f.source_id, l.letter_no, l.unit, r.reply_id, r.received_on, ri.excerpt
FROM letter_item_feedback AS x
JOIN letters AS l ON l.letter_no = x.letter_no
JOIN reply_items AS ri ON ri.item_id = x.item_id
JOIN letter_replies AS r ON r.reply_id = ri.reply_id
JOIN feedback AS f ON f.feedback_id = x.feedback_id
WHERE f.channel = 'direct_channel'
  AND l.status IN ('replied', 'closed')
  AND NOT EXISTS (
      SELECT 1 FROM result_pushes AS p WHERE p.feedback_id = f.feedback_id AND p.status = 'pushed'
  )
QUALIFY row_number() OVER (
    PARTITION BY f.feedback_id ORDER BY r.received_on DESC, r.reply_id DESC
) = 1
ORDER BY f.feedback_id;
