-- Anchoring the audit trail outside the database (`domain::anchor`): each
-- event gets its place in one append-only Merkle log when a checkpoint first
-- covers it (assigned by the checkpointer, so writers do not queue on one
-- counter), and each signed checkpoint is kept here as well as in a file the
-- database's administrator does not hold.
ALTER TABLE audit_events ADD COLUMN log_index BIGINT;
CREATE UNIQUE INDEX audit_events_log_idx ON audit_events (log_index);
CREATE INDEX audit_events_unanchored_idx ON audit_events (occurred_at, id) WHERE log_index IS NULL;
CREATE TABLE audit_checkpoints (
    seq BIGINT PRIMARY KEY NOT NULL,
    tree_size BIGINT NOT NULL,
    issued_at TIMESTAMPTZ NOT NULL,
    -- The signed checkpoint as one JSON document, exactly as the file holds it.
    document TEXT NOT NULL,
    -- The right edge of the tree at this size (`merkle::Frontier`), so the
    -- next checkpoint adds leaves without reading the old ones.
    frontier TEXT NOT NULL
);
