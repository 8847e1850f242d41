DROP INDEX requests_parent_idx;
CREATE INDEX requests_parent_idx ON requests (parent_id, id);
