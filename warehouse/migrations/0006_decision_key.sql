-- Which of a message's rank-1 matches decides it: an editor's manual decision beats the
-- classifier's, within a method the latest wins, then the most confident. One sortable BIGINT
-- (manual bit | epoch ms | confidence in millionths); decision times are compared to the
-- millisecond. queries/_deciding_matches.sql orders by it; the dashboard's window_matches picks
-- with arg_max(.., key), which is several times faster than a window sort there.
CREATE MACRO decision_key(method, decided_at, confidence) AS
    (CAST(method = 'manual' AS BIGINT) << 62)
    + (epoch_ms(decided_at) << 20)
    + CAST(round(greatest(0, least(1, confidence)) * 1000000) AS BIGINT);
