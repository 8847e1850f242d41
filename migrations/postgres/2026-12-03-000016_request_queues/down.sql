DROP TABLE request_identifiers;
DROP INDEX requests_issuer_due_idx;
ALTER TABLE requests DROP COLUMN issuer_due_at;
