-- Rejected rows by source, file and kind of reason (dashboard 数据质量). The reason's leading
-- "第12行：" is dropped so rows rejected for the same cause group together.
SELECT source, file,
       regexp_replace(reason, '^第\s*\d+\s*行[：:]\s*', '') AS reason_kind,
       count(*) AS n,
       strftime(timezone('Asia/Shanghai', max(rejected_at)), '%Y-%m-%d %H:%M') AS latest
FROM rejected_rows
GROUP BY ALL
ORDER BY max(rejected_at) DESC, n DESC
LIMIT $limit;
