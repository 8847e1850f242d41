-- An 18 U.S.C. 2258A preservation counts its year from the provider's
-- CyberTipline submission, which the request now carries.
ALTER TABLE requests ADD COLUMN cybertipline_submitted_at TIMESTAMPTZ;
-- Facts about the deployment itself, e.g. the fingerprint of the deadline
-- rules the stored deadlines were computed under (recomputed when it changes).
CREATE TABLE settings (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
