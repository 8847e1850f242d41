-- Lists filtered by status walk one index range per kind of viewer, newest
-- first, instead of every request of the viewer (docs/benchmarks.md).
CREATE INDEX requests_agency_status_idx ON requests (agency_id, status, id);
CREATE INDEX requests_responder_status_idx ON requests (responder_id, status, id);
CREATE INDEX requests_issuing_status_idx ON requests (issuing_jurisdiction, status, id);
-- A request's follow-ups come in id order from the parent's own range.
DROP INDEX requests_parent_idx;
CREATE INDEX requests_parent_idx ON requests (parent_id, id);
