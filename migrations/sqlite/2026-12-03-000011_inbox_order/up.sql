-- A responder's inbox lists its requests by the soonest clock it still owes
-- (domain::deadlines::responder_due), kept beside the request whenever its
-- deadlines are stored, so that a page of the inbox is one index range.
-- Requests owing nothing (NULL) come after, newest first. The backfill reads
-- open clocks only (a missed one may or may not still be owed); the next time
-- a request's deadlines are stored, its order is exact.
ALTER TABLE requests ADD COLUMN responder_due_at TIMESTAMP;
-- One pass over the deadlines, grouped, not a subquery per request: a
-- planner may read MIN(due_at) off the (status, due_at) index and scan it
-- once for every request.
UPDATE requests SET responder_due_at = owed.due_at
FROM (
    SELECT request_id, MIN(due_at) AS due_at FROM deadlines
    WHERE status = 'open'
      AND kind NOT IN ('approval_due', 'ex_post_validation', 'follow_up_due', 'enforcing_review')
    GROUP BY request_id
) AS owed
WHERE owed.request_id = requests.id;
CREATE INDEX requests_responder_due_idx ON requests (responder_id, responder_due_at, id);
