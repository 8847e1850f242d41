DROP INDEX requests_responder_due_idx;
ALTER TABLE requests DROP COLUMN responder_due_at;
