-- Public holidays per jurisdiction (JSON array of dates), for counting days
-- under Regulation 1182/71; and every request's computed deadlines.
ALTER TABLE jurisdictions ADD COLUMN holidays TEXT NOT NULL DEFAULT '[]';

CREATE TABLE deadlines (
    id TEXT PRIMARY KEY NOT NULL,
    request_id TEXT NOT NULL REFERENCES requests (id),
    -- Copied from the request on every change, so that the board filters and
    -- orders by one index per kind of viewer.
    agency_id TEXT NOT NULL,
    issuing_jurisdiction TEXT NOT NULL,
    responder_id TEXT NOT NULL,
    submitted BOOLEAN NOT NULL,
    transmitted BOOLEAN NOT NULL,
    kind TEXT NOT NULL,
    started_at TIMESTAMP,
    due_at TIMESTAMP NOT NULL,
    status TEXT NOT NULL,
    explanation TEXT NOT NULL,
    due_local TEXT NOT NULL,
    timezone TEXT NOT NULL,
    citation TEXT NOT NULL,
    verification TEXT NOT NULL,
    missed_noticed_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX deadlines_request_kind_idx ON deadlines (request_id, kind);
CREATE INDEX deadlines_status_due_idx ON deadlines (status, due_at);
CREATE INDEX deadlines_agency_idx ON deadlines (agency_id, status, due_at);
CREATE INDEX deadlines_issuing_idx ON deadlines (issuing_jurisdiction, status, due_at);
CREATE INDEX deadlines_responder_idx ON deadlines (responder_id, status, due_at);
