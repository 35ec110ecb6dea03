-- When the latest message of a period was received (dashboard 民情: the window for hot issues and
-- the triage queue ends there, so a past year shows its last weeks rather than nothing).
SELECT max(coalesce(submitted_at, ingested_at)) AS latest, count(*) AS messages
FROM feedback
WHERE coalesce(submitted_at, ingested_at) >= $start
  AND coalesce(submitted_at, ingested_at) < $end;
