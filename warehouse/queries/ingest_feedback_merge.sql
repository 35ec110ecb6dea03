-- Stage 3 of feedback ingestion: merge one batch of prepared rows into the warehouse, inside the
-- caller's short write transaction. Statements are selected by name by
-- livelihood_monitor.ingest_feedback.statements().
--
-- Template slots: {final}, the batch's prepared rows (an Arrow table computed from the scratch
-- database by the ``batch`` statement of ingest_feedback_final.sql and registered here);
-- {incoming}, its accepted rows: (SELECT * FROM {final} WHERE status = 'accept')

-- name: classify
-- One narrow row per incoming row (copying the texts into a temp table costs more than the
-- merge). Actions:
--   new        identity and content unseen in this source
--   duplicate  seen before: same identity and content, or the same content under another id
--              (a row re-exported in the next period's file, a double-tapped submission)
--   changed    same identity, new content: update the row, keep the earlier version
CREATE OR REPLACE TEMP TABLE ingest_actions AS
SELECT
    i.row_number,
    i.sheet,
    f.feedback_id AS existing_id,
    CASE
        WHEN f.feedback_id IS NULL THEN CASE WHEN h.content_hash IS NULL THEN 'new' ELSE 'duplicate' END
        WHEN f.content_hash = i.content_hash THEN 'duplicate'
        ELSE 'changed'
    END AS action
FROM {incoming} AS i
LEFT JOIN feedback AS f ON f.source = $source AND f.source_id = i.source_id
LEFT JOIN (
    SELECT DISTINCT content_hash
    FROM feedback
    WHERE source = $source AND content_hash IN (SELECT content_hash FROM {incoming})
) AS h ON h.content_hash = i.content_hash;

-- name: counts
SELECT action, count(*) FROM ingest_actions GROUP BY action;

-- name: save_versions
INSERT INTO feedback_versions (feedback_id, version, text_raw)
SELECT f.feedback_id, f.version, f.text_raw
FROM feedback AS f
JOIN ingest_actions AS a ON a.existing_id = f.feedback_id
WHERE a.action = 'changed';

-- name: update_changed
UPDATE feedback
SET channel = $channel,
    observation_point = c.observation_point,
    deputy_code = c.deputy_code,
    district = c.district,
    submitted_at = c.submitted_at,
    title = c.title,
    text_raw = c.text_raw,
    text = c.text,
    submitter = c.submitter,
    contact_masked = c.contact_masked,
    content_hash = c.content_hash,
    version = feedback.version + 1,
    updated_at = current_timestamp
FROM (
    SELECT i.*, a.existing_id
    FROM {incoming} AS i
    JOIN ingest_actions AS a ON a.sheet = i.sheet AND a.row_number = i.row_number
    WHERE a.action = 'changed'
) AS c
WHERE feedback.feedback_id = c.existing_id;

-- name: insert_new
-- No ORDER BY: the rows arrive in file order, and sorting them costs a third of the insert.
INSERT INTO feedback (
    source, source_id, channel, observation_point, deputy_code, district, submitted_at, title,
    text_raw, text, submitter, contact_masked, content_hash
)
SELECT
    $source, i.source_id, $channel, i.observation_point, i.deputy_code, i.district,
    i.submitted_at, i.title, i.text_raw, i.text, i.submitter, i.contact_masked, i.content_hash
FROM {incoming} AS i
SEMI JOIN (SELECT sheet, row_number FROM ingest_actions WHERE action = 'new') AS a
    ON a.sheet = i.sheet AND a.row_number = i.row_number;

-- name: batch_rows
-- Everything the batch read (for counts) and its rejected rows (for rejected_rows).
SELECT
    count(*) AS rows_read,
    count(*) FILTER (WHERE status = 'duplicate') AS rows_duplicate
FROM {final};

-- name: batch_rejects
SELECT sheet, row_number, reject_reason, text_chars, date_error, date_raw, submitted_at,
       source_id_given, id_first_row, id_first_sheet, raw, text_raw
FROM {final}
WHERE status = 'reject'
ORDER BY sheet, row_number;
