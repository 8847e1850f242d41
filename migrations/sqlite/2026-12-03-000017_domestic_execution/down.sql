DROP INDEX requests_executes_idx;
ALTER TABLE requests DROP COLUMN executes_id;
