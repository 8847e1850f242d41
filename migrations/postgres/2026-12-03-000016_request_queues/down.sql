DROP TABLE request_identifiers;
DROP INDEX requests_issuing_due_idx;
DROP INDEX requests_agency_due_idx;
ALTER TABLE requests DROP COLUMN issuer_due_at;
