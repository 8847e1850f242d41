DROP TABLE request_reads;
DROP INDEX requests_agency_acted_idx;
ALTER TABLE requests DROP COLUMN responder_acted_at;
