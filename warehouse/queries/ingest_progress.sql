-- Merging units' progress reports (进度填报) into progress_reports, in the caller's write
-- transaction. ``incoming`` is a registered Arrow table of validated reports. Statements are
-- selected by name by livelihood_monitor.ingest_feedback.statements().

-- name: classify
-- new | duplicate (same project, date and values) | changed (a corrected value: update).
CREATE OR REPLACE TEMP TABLE progress_actions AS
SELECT
    i.source_id,
    CASE
        WHEN p.source_id IS NULL THEN 'new'
        WHEN p.progress_pct IS NOT DISTINCT FROM i.progress_pct
            AND p.completed_value IS NOT DISTINCT FROM i.completed_value
            AND p.note IS NOT DISTINCT FROM i.note
            AND p.unit IS NOT DISTINCT FROM i.unit
            THEN 'duplicate'
        ELSE 'changed'
    END AS action
FROM incoming AS i
LEFT JOIN progress_reports AS p ON p.source = $source AND p.source_id = i.source_id;

-- name: counts
SELECT action, count(*) FROM progress_actions GROUP BY action;

-- name: update_changed
UPDATE progress_reports
SET progress_pct = i.progress_pct,
    completed_value = i.completed_value,
    note = i.note,
    unit = i.unit,
    ingested_at = current_timestamp
FROM incoming AS i
JOIN progress_actions AS a ON a.source_id = i.source_id AND a.action = 'changed'
WHERE progress_reports.source = $source AND progress_reports.source_id = i.source_id;

-- name: insert_new
INSERT INTO progress_reports (
    year, project_code, report_date, progress_pct, completed_value, note, unit, source, source_id
)
SELECT i.year, i.project_code, i.report_date, i.progress_pct, i.completed_value, i.note, i.unit,
       $source, i.source_id
FROM incoming AS i
JOIN progress_actions AS a ON a.source_id = i.source_id AND a.action = 'new';

-- name: refresh_flags
-- Flags are derived, so they are recomputed for the whole year after every import: a report
-- loaded late can make a later one "go backwards". over_100 is flagged, never clipped.
UPDATE progress_reports
SET flags = f.flags
FROM (
    SELECT
        source,
        source_id,
        nullif(concat_ws(
            ',',
            CASE WHEN progress_pct > 100 THEN 'over_100' END,
            CASE WHEN progress_pct < max(progress_pct) OVER (
                PARTITION BY year, project_code
                ORDER BY report_date
                RANGE BETWEEN UNBOUNDED PRECEDING AND INTERVAL 1 DAY PRECEDING
            ) THEN 'went_backwards' END
        ), '') AS flags
    FROM progress_reports
    WHERE year = $year
) AS f
WHERE progress_reports.source = f.source
    AND progress_reports.source_id = f.source_id
    AND progress_reports.flags IS DISTINCT FROM f.flags;

-- name: flagged
-- This import's reports that carry a flag, for the operator's summary.
SELECT i.row_number, p.project_code, p.report_date, p.progress_pct, p.flags
FROM progress_reports AS p
JOIN incoming AS i ON i.source_id = p.source_id
WHERE p.source = $source AND p.flags IS NOT NULL
ORDER BY i.row_number;
