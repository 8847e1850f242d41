-- Lists filtered by status walk one index range per kind of viewer, newest
-- first, instead of every request of the viewer (docs/benchmarks.md).
CREATE INDEX requests_agency_status_idx ON requests (agency_id, status, id);
CREATE INDEX requests_responder_status_idx ON requests (responder_id, status, id);
CREATE INDEX requests_issuing_status_idx ON requests (issuing_jurisdiction, status, id);
-- A request's follow-ups come in id order from the parent's own range.
DROP INDEX requests_parent_idx;
CREATE INDEX requests_parent_idx ON requests (parent_id, id);
-- The board pages by (due_at, id): with id in the index the page comes out of
-- it in order, instead of being sorted again within each due_at.
DROP INDEX deadlines_status_due_idx;
DROP INDEX deadlines_agency_idx;
DROP INDEX deadlines_issuing_idx;
DROP INDEX deadlines_responder_idx;
CREATE INDEX deadlines_status_due_idx ON deadlines (status, due_at, id);
CREATE INDEX deadlines_agency_idx ON deadlines (agency_id, status, due_at, id);
CREATE INDEX deadlines_issuing_idx ON deadlines (issuing_jurisdiction, status, due_at, id);
CREATE INDEX deadlines_responder_idx ON deadlines (responder_id, status, due_at, id);
