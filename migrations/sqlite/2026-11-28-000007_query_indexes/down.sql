DROP INDEX requests_parent_idx;
CREATE INDEX requests_parent_idx ON requests (parent_id);
DROP INDEX requests_issuing_status_idx;
DROP INDEX requests_responder_status_idx;
DROP INDEX requests_agency_status_idx;
