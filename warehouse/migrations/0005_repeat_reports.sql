-- Repeated reports raise a message's urgency: keep the text's own urgency beside the count of
-- near-duplicate reports (same project, place, wording) so re-flagging is idempotent.
ALTER TABLE feedback_matches ADD COLUMN text_urgency INTEGER;
ALTER TABLE feedback_matches ADD COLUMN repeat_count INTEGER;
UPDATE feedback_matches SET text_urgency = urgency;
