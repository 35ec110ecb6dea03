-- Stage 2 of feedback ingestion: the staged rows of one input joined with the results of the
-- Python work, validated, hashed, identified, checked for repeats within the input and cut into
-- merge batches. Statements are selected by name by ingest_feedback.statements().
--
-- Relations: staged (stage 1), sheets (sheet, scope, id_identity), py_text (sheet, row_number,
-- text_norm, text_masked, title_masked), py_dates (value, iso, error), py_contacts (value,
-- masked), py_points / py_districts / py_deputies (value, out).
--
-- Cost notes (1M rows): the rows are never materialised a second time. ``keys`` holds only the
-- narrow columns identity needs; repeats within the input are narrow aggregates of it; each
-- merge batch is then computed on demand (``batch``) from one row range of ``staged`` and
-- ``keys``, so the wide columns stream once, straight to the warehouse. (The earlier design
-- wrote a wide ``final`` table and joined it with itself: 7-14 s of a 33 s load.) The time
-- enters the hash as epoch seconds (formatting it in Asia/Shanghai through ICU cost a second).

-- name: keys
-- Parameters: $future_limit, $block_rows (see batches).
CREATE OR REPLACE TEMP TABLE keys AS
WITH jh AS (
    SELECT
        s.sheet,
        s.row_number,
        -- Position in the whole input, sheets in order (row numbers restart in every sheet).
        s.sheet::BIGINT * 1000000000 + s.row_number AS ordinal,
        sh.scope,
        sh.id_identity AS sheet_has_ids,
        s.source_id AS source_id_given,
        s.reason0,
        -- Rows without Python work hold safe texts, which never have a title (the title joins
        -- the text with a newline, an unsafe character), so their text is text_raw itself.
        coalesce(t.text_norm, s.text_raw) AS text_norm,
        coalesce(s.ts_fast, CAST(d.iso AS TIMESTAMPTZ)) AS submitted_at,
        d.error AS date_error,
        coalesce(p.out, s.observation_point) AS observation_point,
        -- What the row weighs in a merge batch (texts dominate; raw is kept for rejects only).
        coalesce(strlen(s.text_raw), 0) + coalesce(strlen(s.raw), 0) AS row_bytes
    FROM staged AS s
    JOIN sheets AS sh ON sh.sheet = s.sheet
    LEFT JOIN py_text AS t ON t.sheet = s.sheet AND t.row_number = s.row_number
    LEFT JOIN py_dates AS d ON d.value = s.date_raw
    LEFT JOIN py_points AS p ON p.value = s.observation_point
),
h AS (
    SELECT
        sheet,
        row_number,
        ordinal,
        CASE
            WHEN reason0 IS NOT NULL THEN reason0
            WHEN text_norm IS NULL OR text_norm = '' THEN 'missing_text'
            WHEN date_error IS NOT NULL THEN 'bad_date'
            WHEN submitted_at > $future_limit THEN 'future_date'
        END AS reason,
        -- Content hash: normalised (unmasked) text, the moment, the observation point.
        sha256(
            coalesce(text_norm, '') || chr(31)
            || coalesce(CAST(CAST(epoch(submitted_at) AS BIGINT) AS VARCHAR), '') || chr(31)
            || coalesce(observation_point, '')
        ) AS content_hash,
        sheet_has_ids AND source_id_given IS NOT NULL AS id_identity,
        scope,
        source_id_given,
        row_number // $block_rows AS block,
        row_bytes
    FROM jh
)
SELECT
    sheet,
    row_number,
    ordinal,
    reason,
    content_hash,
    id_identity,
    CASE
        WHEN id_identity THEN scope || source_id_given
        ELSE 'sha256:' || content_hash
    END AS source_id,
    block,
    row_bytes
FROM h;

-- name: repeats
-- Repeats within the input, found with narrow aggregates (a window would drag every column).
CREATE OR REPLACE TEMP TABLE id_repeats AS
SELECT source_id, min(ordinal) AS id_first
FROM keys
WHERE reason IS NULL
GROUP BY source_id
HAVING count(*) > 1;
CREATE OR REPLACE TEMP TABLE hash_repeats AS
SELECT content_hash, min(ordinal) AS hash_first
FROM keys
WHERE reason IS NULL
GROUP BY content_hash
HAVING count(*) > 1;

-- name: batches
-- Merge batches, numbered in input order: runs of consecutive rows of a sheet that close at
-- $batch_rows rows or $batch_bytes of text, whichever comes first (long texts make smaller
-- batches, so a batch fits the scratch's memory). Counted in blocks of $block_rows rows, so the
-- running total is a window over a few thousand blocks, not over every row (that sort cost 2 s
-- on 1M rows); a batch may pass either limit by at most one block.
CREATE OR REPLACE TEMP TABLE batches AS
WITH blocks AS (
    SELECT sheet, block, sum(row_bytes) AS bytes
    FROM keys
    GROUP BY sheet, block
),
chunks AS (
    SELECT
        sheet,
        block,
        greatest(
            block * $block_rows // $batch_rows,
            (sum(bytes) OVER (PARTITION BY sheet ORDER BY block) - bytes) // $batch_bytes
        ) AS chunk
    FROM blocks
)
SELECT
    row_number() OVER (ORDER BY sheet, chunk) AS batch_no,
    sheet,
    min(block) * $block_rows AS first_row,
    (max(block) + 1) * $block_rows - 1 AS last_row
FROM chunks
GROUP BY sheet, chunk;

-- name: batch
-- Every row of one merge batch, ready to merge. Parameters: $sheet, $first_row, $last_row,
-- $reject_repeated (whether a repeated id is an error (files) or a plain duplicate (API)).
WITH j AS (
    SELECT
        s.sheet,
        s.row_number,
        s.source_id AS source_id_given,
        s.date_raw,
        s.text_raw,
        s.text_chars,
        s.raw,
        CASE
            WHEN s.text_fast = 'safe' THEN s.text_raw
            -- mask_pii of a text matching safe_text_pattern(mobiles=True): its only runs of seven
            -- or more digits are mobile numbers, kept as the first three and last four digits.
            WHEN s.text_fast = 'mobile'
                THEN regexp_replace(s.text_raw, '(1[3-9][0-9])[0-9]{4}([0-9]{4})', '\1****\2', 'g')
            ELSE t.text_masked
        END AS text,
        t.title_masked AS title,
        coalesce(s.ts_fast, CAST(d.iso AS TIMESTAMPTZ)) AS submitted_at,
        d.error AS date_error,
        coalesce(s.contact_fast, c.masked) AS contact_masked,
        coalesce(p.out, s.observation_point) AS observation_point,
        coalesce(di.out, s.district) AS district,
        coalesce(dc.out, s.deputy_code) AS deputy_code,
        s.submitter
    FROM staged AS s
    LEFT JOIN py_text AS t ON t.sheet = s.sheet AND t.row_number = s.row_number
    LEFT JOIN py_dates AS d ON d.value = s.date_raw
    LEFT JOIN py_contacts AS c ON c.value = s.contact_raw
    LEFT JOIN py_points AS p ON p.value = s.observation_point
    LEFT JOIN py_districts AS di ON di.value = s.district
    LEFT JOIN py_deputies AS dc ON dc.value = s.deputy_code
    WHERE s.sheet = $sheet AND s.row_number BETWEEN $first_row AND $last_row
),
w AS (
    SELECT
        k.sheet,
        k.row_number,
        k.reason,
        k.content_hash,
        k.id_identity,
        k.source_id,
        ir.id_first % 1000000000 AS id_first_row,
        ir.id_first // 1000000000 AS id_first_sheet,
        coalesce(k.ordinal > ir.id_first, false) AS id_repeat,
        coalesce(k.ordinal > hr.hash_first, false) AS hash_repeat
    FROM keys AS k
    LEFT JOIN id_repeats AS ir ON k.reason IS NULL AND ir.source_id = k.source_id
    LEFT JOIN hash_repeats AS hr ON k.reason IS NULL AND hr.content_hash = k.content_hash
    WHERE k.sheet = $sheet AND k.row_number BETWEEN $first_row AND $last_row
)
SELECT
    j.sheet,
    j.row_number,
    CASE
        WHEN w.reason IS NOT NULL THEN 'reject'
        WHEN w.id_repeat AND w.id_identity AND $reject_repeated THEN 'reject'
        WHEN w.id_repeat OR w.hash_repeat THEN 'duplicate'
        ELSE 'accept'
    END AS status,
    CASE
        WHEN w.reason IS NOT NULL THEN w.reason
        WHEN w.id_repeat AND w.id_identity AND $reject_repeated THEN 'repeated_id'
    END AS reject_reason,
    w.source_id,
    j.source_id_given,
    w.id_identity,
    w.id_first_row,
    w.id_first_sheet,
    w.content_hash,
    j.submitted_at,
    j.date_raw,
    j.date_error,
    j.text_raw,
    j.text_chars,
    j.text,
    j.title,
    j.observation_point,
    j.district,
    j.deputy_code,
    j.submitter,
    j.contact_masked,
    j.raw
FROM j
JOIN w ON w.sheet = j.sheet AND w.row_number = j.row_number
-- File order: the rows are inserted as they come (sorting them in the warehouse costs more).
ORDER BY j.sheet, j.row_number;
