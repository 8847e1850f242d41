-- The roots of the audit log's complete blocks of 1024 places
-- (`merkle::BLOCK`), stored by the checkpointer, so that a receipt's
-- inclusion proof reads two blocks' leaves and one root per block rather
-- than every leaf of the log. Derived data: a receipt checks the proof it
-- builds against the signed root and falls back to every leaf if a stored
-- root is wrong.
CREATE TABLE audit_log_blocks (
    block BIGINT PRIMARY KEY NOT NULL,
    root TEXT NOT NULL
);
