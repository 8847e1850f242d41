-- A domestic order: the request a central authority sends to a provider of
-- its own jurisdiction to execute an incoming request (the one named here).
-- Kept apart from parent_id, which links a case's follow-ups: the order lives
-- in the central authority's own case, not in the issuing officer's.
ALTER TABLE requests ADD COLUMN executes_id TEXT REFERENCES requests (id);
CREATE INDEX requests_executes_idx ON requests (executes_id, id) WHERE executes_id IS NOT NULL;
