-- Which of a message's rank-1 matches decides it, as one sortable BIGINT expression over the
-- columns method, decided_at and confidence of feedback_matches (unqualified, so the including
-- query must have one such relation in scope): manual bit | epoch ms | confidence in millionths.
-- An editor's manual decision beats the classifier's, within a method the latest wins, then the
-- most confident; decision times are compared to the millisecond and confidences to 1e-6 (ties
-- beyond that are broken arbitrarily). Text, not a stored macro, so the read-only dashboard
-- works on a warehouse no writer has upgraded yet.
(
    (CAST(method = 'manual' AS BIGINT) << 62)
    + (epoch_ms(decided_at) << 20)
    + CAST(round(greatest(0, least(1, confidence)) * 1000000) AS BIGINT)
)
