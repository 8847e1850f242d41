-- An organisation's administrators: people of the organisation who invite,
-- deactivate and reset its accounts and keep its details. Once an
-- organisation has one, the platform administrator no longer adds people
-- to it or changes their roles.
ALTER TABLE users ADD COLUMN org_admin BOOLEAN NOT NULL DEFAULT FALSE;
-- One-time links e-mailed to an account's holder: an invitation (the holder
-- sets their own password; nobody else ever knows it) or a reset. Only the
-- SHA-256 of the link's token is kept; a link is spent by its use.
CREATE TABLE account_links (
    id_hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    purpose TEXT NOT NULL,
    reset_factor BOOLEAN NOT NULL,
    created_by TEXT REFERENCES users (id),
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at TIMESTAMPTZ
);
CREATE INDEX account_links_user_idx ON account_links (user_id);
