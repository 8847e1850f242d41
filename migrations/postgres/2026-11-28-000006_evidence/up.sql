-- Evidence delivered by responders. The bytes live in a content-addressed
-- store under the data directory; a row records one delivery of them.
CREATE TABLE evidence (
    id TEXT PRIMARY KEY NOT NULL,
    request_id TEXT NOT NULL REFERENCES requests (id),
    filename TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    uploaded_by TEXT NOT NULL REFERENCES users (id),
    uploader_organisation_id TEXT NOT NULL REFERENCES organisations (id),
    uploaded_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX evidence_request_idx ON evidence (request_id);
CREATE INDEX evidence_sha256_idx ON evidence (sha256);
