DROP INDEX outbox_webhook_idx;
ALTER TABLE outbox DROP COLUMN webhook_id;
DROP INDEX webhooks_organisation_idx;
DROP TABLE webhooks;
