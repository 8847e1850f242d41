-- The web portal's sessions: a person signed in through a browser. The cookie
-- holds a random id; only its SHA-256 is stored, so that a copy of the
-- database opens no session. Each session has its own token for forms (CSRF).
CREATE TABLE portal_sessions (
    id_hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL
);
CREATE INDEX portal_sessions_user_idx ON portal_sessions (user_id);
