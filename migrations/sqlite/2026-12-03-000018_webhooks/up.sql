-- An organisation's endpoints for event deliveries (`domain::webhooks`). The
-- signing secret is kept sealed with the deployment's factor key, as the
-- second factors' secrets are: the service must read it back to sign.
CREATE TABLE webhooks (
    id TEXT PRIMARY KEY NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    url TEXT NOT NULL,
    -- JSON array of event names.
    events TEXT NOT NULL,
    secret_sealed TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    removed_at TIMESTAMP
);
CREATE INDEX webhooks_organisation_idx ON webhooks (organisation_id, active);
-- A delivery waits in the outbox beside the e-mails, with their retries and
-- dead letters; it names its webhook.
ALTER TABLE outbox ADD COLUMN webhook_id TEXT REFERENCES webhooks (id);
CREATE INDEX outbox_webhook_idx ON outbox (webhook_id, id) WHERE webhook_id IS NOT NULL;
