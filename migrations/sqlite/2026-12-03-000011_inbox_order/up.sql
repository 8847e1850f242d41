-- A responder's inbox lists its requests by the soonest clock it still owes
-- (domain::deadlines::responder_due), kept beside the request whenever its
-- deadlines are stored, so that a page of the inbox is one index range.
-- Requests owing nothing (NULL) come after, newest first.
ALTER TABLE requests ADD COLUMN responder_due_at TIMESTAMP;
UPDATE requests SET responder_due_at = (
    SELECT MIN(d.due_at) FROM deadlines d
    WHERE d.request_id = requests.id
      AND d.status = 'open'
      AND d.kind NOT IN ('approval_due', 'ex_post_validation', 'follow_up_due')
);
CREATE INDEX requests_responder_due_idx ON requests (responder_id, responder_due_at, id);
