-- A second factor (TOTP, RFC 6238) per account. The secret is sealed with the
-- deployment's factor key (XChaCha20-Poly1305, the account's id as associated
-- data), so a copy of the database alone yields no codes. Until its first code
-- confirms it, an enrolment is pending (confirmed_at null). last_step is the
-- last time step a code was accepted for: no code is accepted twice. A
-- confirmed factor being replaced (a new phone) keeps working until the new
-- secret, pending beside it, is confirmed by its first code.
CREATE TABLE second_factors (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users (id),
    secret_sealed TEXT NOT NULL,
    confirmed_at TIMESTAMP,
    last_step BIGINT,
    created_at TIMESTAMP NOT NULL,
    pending_sealed TEXT,
    pending_at TIMESTAMP
);
-- Single-use recovery codes, shown once; only their SHA-256 is kept (each
-- carries 80 random bits, so a slow hash adds nothing).
CREATE TABLE recovery_codes (
    user_id TEXT NOT NULL REFERENCES users (id),
    code_hash TEXT NOT NULL,
    used_at TIMESTAMP,
    PRIMARY KEY (user_id, code_hash)
);
-- A sign-in whose password was right and that waits for its second step: a
-- code (need = 'code') or an enrolment (need = 'enrol'). The client holds
-- a random token; only its SHA-256 is kept.
CREATE TABLE sign_in_challenges (
    id_hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    need TEXT NOT NULL,
    via TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX sign_in_challenges_user_idx ON sign_in_challenges (user_id);
CREATE INDEX sign_in_challenges_expiry_idx ON sign_in_challenges (expires_at);
