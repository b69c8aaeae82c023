-- 0021: data retention (issue 16, item 2). The retention sweeper (Sources/App/RetentionService.swift)
-- deletes finished rows in small batches; each of its statements finds the next batch through
-- one of these indexes, so a run reads what it deletes and not the live rows beside it.

-- Finished work only: open commands and queued deliveries are never candidates.
CREATE INDEX device_commands_finished ON device_commands (created_at) WHERE status IN ('done', 'failed', 'expired');
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (created_at) WHERE status IN ('delivered', 'failed');
-- An event is deleted only when no delivery refers to it; this index answers that question,
-- and the foreign key check each deleted event makes.
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);
CREATE INDEX events_occurred_at ON events (occurred_at);
CREATE INDEX oauth_authorization_codes_expires_at ON oauth_authorization_codes (expires_at);
CREATE INDEX sign_in_failures_failed_at ON sign_in_failures (failed_at);
-- No query reads events by (owner_id, occurred_at): GET /events pages by events_owner_seq.
-- (oauth_access_tokens_expires_at, also unused until now, stays: retention deletes by it.)
DROP INDEX events_owner_time;
