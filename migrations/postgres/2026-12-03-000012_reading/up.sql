-- What an officer has not read yet: a request the responder acted on
-- (answered, asked, delivered) after the officer last opened it. The last
-- such moment is kept beside the request, so that the board reads the
-- agency's recent ones off one index; who opened what, when, in
-- request_reads. The backfill takes the responder's own events from the
-- trail (not its downloads, which answer nothing).
ALTER TABLE requests ADD COLUMN responder_acted_at TIMESTAMPTZ;
UPDATE requests SET responder_acted_at = acted.at
FROM (
    SELECT e.request_id, MAX(e.occurred_at) AS at
    FROM audit_events e JOIN requests r ON r.id = e.request_id
    WHERE e.organisation_id = r.responder_id AND e.action <> 'evidence_downloaded'
    GROUP BY e.request_id
) AS acted
WHERE acted.request_id = requests.id;
CREATE INDEX requests_agency_acted_idx ON requests (agency_id, responder_acted_at);
CREATE TABLE request_reads (
    user_id TEXT NOT NULL REFERENCES users (id),
    request_id TEXT NOT NULL REFERENCES requests (id),
    read_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, request_id)
);
