-- An account the platform administrator asks for in an organisation that
-- runs its own people. No account exists until one of the organisation's
-- administrators approves it (then its holder is invited, as any other) or
-- declines it; the platform administrator may withdraw it before then.
CREATE TABLE account_proposals (
    id TEXT PRIMARY KEY NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    org_admin BOOLEAN NOT NULL,
    proposed_by TEXT NOT NULL REFERENCES users (id),
    proposed_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    -- 'approved', 'declined' or 'withdrawn'; NULL while it waits.
    decision TEXT,
    decided_by TEXT REFERENCES users (id),
    decided_at TIMESTAMP,
    -- The account an approval made.
    user_id TEXT REFERENCES users (id)
);
CREATE INDEX account_proposals_waiting_idx ON account_proposals (organisation_id, decided_at);
