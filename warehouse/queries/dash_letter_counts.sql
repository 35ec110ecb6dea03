-- Letters of a year per status (dashboard 函件: the metrics above the register).
SELECT status, count(*) AS n
FROM letters
WHERE year = $year
GROUP BY status
ORDER BY status;
