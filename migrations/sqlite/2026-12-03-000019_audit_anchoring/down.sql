DROP TABLE audit_checkpoints;
DROP INDEX audit_events_unanchored_idx;
DROP INDEX audit_events_log_idx;
ALTER TABLE audit_events DROP COLUMN log_index;
