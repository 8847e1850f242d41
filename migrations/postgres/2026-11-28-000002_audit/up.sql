-- The audit trail: append-only events in hash chains (one per request, one per
-- account, one for reference data, one for the rest). Each chain's head row is
-- locked while an event is appended, so concurrent writers cannot fork a chain.
CREATE TABLE audit_chains (
    chain TEXT PRIMARY KEY NOT NULL,
    head_seq BIGINT NOT NULL,
    head_hash TEXT NOT NULL
);

CREATE TABLE audit_events (
    id TEXT PRIMARY KEY NOT NULL,
    chain TEXT NOT NULL REFERENCES audit_chains (chain),
    seq BIGINT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    actor_id TEXT,
    organisation_id TEXT,
    action TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id TEXT,
    request_id TEXT,
    details TEXT NOT NULL
);
CREATE UNIQUE INDEX audit_events_chain_seq_idx ON audit_events (chain, seq);
CREATE INDEX audit_events_request_idx ON audit_events (request_id);
