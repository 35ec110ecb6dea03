-- The audit trail of a year's letters (dashboard 函件): every change, who made it and when,
-- oldest first. ("at" is a keyword in DuckDB, hence the quotes.)
SELECT e.event_id, e.letter_no,
       strftime(timezone('Asia/Shanghai', e."at"), '%Y-%m-%d %H:%M:%S') AS happened,
       e.actor, e.action, e.from_status, e.to_status, e.note
FROM letter_events AS e
WHERE e.letter_no IN (SELECT letter_no FROM letters WHERE year = $year)
ORDER BY e."at", e.event_id;
