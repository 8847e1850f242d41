-- The request list sorted by urgency for the issuing side: the soonest clock
-- still owed on the request, of any kind (domain::deadlines::issuer_due),
-- kept beside it whenever its deadlines are stored. Requests owing nothing
-- (NULL) come after. The backfill reads open and missed clocks (one met late
-- may be among them); the next time a request's deadlines are stored, its
-- order is exact.
ALTER TABLE requests ADD COLUMN issuer_due_at TIMESTAMP;
UPDATE requests SET issuer_due_at = owed.due_at
FROM (
    SELECT request_id, MIN(due_at) AS due_at FROM deadlines
    WHERE status IN ('open', 'missed') AND kind <> 'enforcing_review'
    GROUP BY request_id
) AS owed
WHERE owed.request_id = requests.id;
-- Read in that order within what a viewer sees: an agency's requests (an
-- officer), or an issuing jurisdiction's (its central authority).
CREATE INDEX requests_agency_due_idx ON requests (agency_id, issuer_due_at, id);
CREATE INDEX requests_issuing_due_idx ON requests (issuing_jurisdiction, issuer_due_at, id);
-- Identifier values as searched (ASCII letters folded to lower case, as
-- stored values are already normalised), one row per value and request, so
-- that finding the requests about an account or an address is one index
-- lookup, not a scan of every request's identifiers.
CREATE TABLE request_identifiers (
    value_key TEXT NOT NULL,
    request_id TEXT NOT NULL REFERENCES requests (id),
    PRIMARY KEY (value_key, request_id)
);
INSERT INTO request_identifiers (request_id, value_key)
SELECT DISTINCT requests.id, lower(json_extract(item.value, '$.value'))
FROM requests, json_each(requests.identifiers) AS item
WHERE json_extract(item.value, '$.value') IS NOT NULL;
