-- Notifications to send, written in the transaction of the event that causes
-- them. `dedupe_key` makes each one exactly once, whoever writes it first.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY NOT NULL,
    dedupe_key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    request_id TEXT REFERENCES requests (id),
    recipient_user_id TEXT REFERENCES users (id),
    recipient_email TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);
CREATE INDEX outbox_status_next_idx ON outbox (status, next_attempt_at);
CREATE INDEX outbox_recipient_idx ON outbox (recipient_user_id, id);
