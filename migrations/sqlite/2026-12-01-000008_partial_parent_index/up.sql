-- Most requests have no parent. In a full index their NULLs are one huge key,
-- so SQLite's statistics put about a thousand rows behind every parent and the
-- planner walked the viewer's whole agency instead to find a request's
-- follow-ups (docs/benchmarks.md). Only follow-ups are indexed now; a
-- `parent_id = ?` filter still uses it, on both backends.
DROP INDEX requests_parent_idx;
CREATE INDEX requests_parent_idx ON requests (parent_id, id) WHERE parent_id IS NOT NULL;
