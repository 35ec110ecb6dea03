-- Stage 1 of feedback ingestion: per-row, vectorised work on rows exactly as read (VARCHAR).
-- Runs once per input (CREATE TEMP TABLE staged AS ...) over the rows DuckDB's read_csv
-- loaded, or those Python read from XLSX/JSON/API. Rows whose text, date or contact needs
-- Python (normalize_text, mask_pii, parse_datetime, mask_contact) are flagged; everything else
-- is finished here without leaving DuckDB.
--
-- Template slots (identifiers and expressions built by ingest_feedback.py, never values):
--   {rows}        relation with columns sheet, row_number, source_id, submitted_at, text,
--                 title, observation_point, district, submitter, contact, deputy_code
--   {raw_expr}    expression giving the row as received (computed for suspect rows only)
--   {blank_expr}  true for a row whose every cell is empty (layout: skipped, as tabular does)
-- Parameters:
--   $safe_text     RE2 pattern of texts normalize_text and mask_pii return unchanged
--   $safe_mobile_text  the same, where mask_pii only masks bare mobile numbers
--   $max_chars     longest text accepted
--   $future_limit  submitted_at later than this is rejected (now + 1 day)
WITH r AS (
    SELECT
        *,
        nullif(trim(source_id), '') AS id_clean,
        CASE WHEN text IS NULL OR trim(text) = '' THEN NULL ELSE text END AS text_raw,
        nullif(trim(title), '') AS title_raw,
        nullif(trim(submitted_at), '') AS date_raw,
        nullif(trim(contact), '') AS contact_raw
    FROM {rows}
),
d AS (
    SELECT
        *,
        regexp_full_match(
            date_raw,
            '[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}(?: (?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9])?)?'
        ) AS date_iso,
        -- Other common shapes (2025/3/5 14:20, 2025.10.18 08:42, 2025年3月5日), split here only
        -- for the rows that need it. (strptime with a list of formats is ten times slower.)
        CASE
            WHEN date_raw IS NOT NULL AND NOT date_iso THEN regexp_extract(
                date_raw,
                '^([1-9][0-9]{3})(?:[-/.]|年)([0-9]{1,2})(?:[-/.]|月)([0-9]{1,2})日?(?: ([0-9]{1,2}):([0-9]{1,2})(?::([0-9]{1,2}))?)?$',
                ['y', 'mo', 'dd', 'h', 'mi', 's']
            )
        END AS dp
    FROM r
),
s AS (
    SELECT
        *,
        -- The common date shapes are parsed here; anything else goes to values.parse_datetime.
        -- The checks let through only what parse_datetime accepts identically (DuckDB's cast and
        -- make_timestamp would roll hour 24 into the next day, the cast accepts 'epoch').
        CASE
            WHEN date_iso THEN timezone('Asia/Shanghai', TRY_CAST(date_raw AS TIMESTAMP))
            WHEN dp.y <> ''
                AND CAST(dp.mo AS INTEGER) BETWEEN 1 AND 12
                AND CAST(dp.dd AS INTEGER) BETWEEN 1 AND 31
                AND coalesce(CAST(nullif(dp.h, '') AS INTEGER), 0) < 24
                AND coalesce(CAST(nullif(dp.mi, '') AS INTEGER), 0) < 60
                AND coalesce(CAST(nullif(dp.s, '') AS INTEGER), 0) < 60
            THEN timezone('Asia/Shanghai', try(make_timestamp(
                CAST(dp.y AS BIGINT),
                CAST(dp.mo AS BIGINT),
                CAST(dp.dd AS BIGINT),
                coalesce(CAST(nullif(dp.h, '') AS BIGINT), 0),
                coalesce(CAST(nullif(dp.mi, '') AS BIGINT), 0),
                coalesce(CAST(nullif(dp.s, '') AS DOUBLE), 0)
            )))
        END AS ts_fast,
        -- privacy.mask_contact's output for the two commonest shapes, a bare mobile number and
        -- a dashed landline (tests compare both with mask_contact); anything else goes to Python.
        CASE
            WHEN contact_raw IS NULL THEN NULL
            WHEN regexp_full_match(contact_raw, '1[3-9][0-9]{9}')
                THEN substr(contact_raw, 1, 3) || '****' || substr(contact_raw, 8, 4)
            WHEN regexp_full_match(contact_raw, '0[0-9]{2,3}-[0-9]{7,8}')
                THEN split_part(contact_raw, '-', 1) || '-'
                    || repeat('*', length(split_part(contact_raw, '-', 2)) - 2)
                    || right(contact_raw, 2)
        END AS contact_fast,
        length(text_raw) AS text_chars,
        CASE
            WHEN text_raw IS NULL THEN 'missing_text'
            WHEN length(text_raw) > $max_chars THEN 'too_long'
        END AS reason0
    FROM d
)
SELECT
    sheet,
    row_number,
    id_clean AS source_id,
    date_raw,
    ts_fast,
    text_raw,
    title_raw,
    text_chars,
    -- 'safe': only characters that normalize_text and mask_pii leave as they are, and digits
    -- where no masking rule can start (see ingest_feedback.safe_text_pattern); 'mobile': the same
    -- plus bare mobile numbers, which the batch SQL masks as mask_pii does. NULL: Python's work.
    -- A title is joined to the text with a newline (not safe), so a titled row is never fast.
    CASE
        WHEN reason0 IS NOT NULL OR title_raw IS NOT NULL THEN NULL
        WHEN regexp_full_match(text_raw, $safe_text) THEN 'safe'
        WHEN regexp_full_match(text_raw, $safe_mobile_text) THEN 'mobile'
    END AS text_fast,
    contact_raw,
    contact_fast,
    nullif(trim(observation_point), '') AS observation_point,
    nullif(trim(district), '') AS district,
    nullif(trim(submitter), '') AS submitter,
    nullif(trim(deputy_code), '') AS deputy_code,
    reason0,
    CASE
        WHEN reason0 IS NOT NULL
            OR (date_raw IS NOT NULL AND ts_fast IS NULL)
            OR ts_fast > $future_limit
        THEN {raw_expr}
    END AS raw
FROM s
WHERE NOT {blank_expr}
