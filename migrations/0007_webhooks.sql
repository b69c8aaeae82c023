-- 0007: webhooks (contract 6): registrations per OAuth client, and a transactional outbox of
-- deliveries filled by a trigger in the same transaction as the event itself.

-- A global order for events: delivery keeps it per webhook, and GET /events pages by it.
ALTER TABLE events ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY;
CREATE UNIQUE INDEX events_seq ON events (seq);
CREATE INDEX events_owner_seq ON events (owner_id, seq);

CREATE TABLE webhooks (
    webhook_id        uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    client_id         text NOT NULL REFERENCES oauth_clients ON DELETE CASCADE,
    url               text NOT NULL CHECK (length(url) <= 2000),
    -- Empty: every event type.
    event_types       text[] NOT NULL DEFAULT '{}',
    -- The signing secret (Standard Webhooks) has to be used, so it is sealed (AES-256-GCM under
    -- the key-encryption key, bound to the webhook id), not hashed. After a rotation the
    -- previous secret also signs until previous_secret_until, so receivers can switch over.
    secret_sealed          bytea NOT NULL,
    previous_secret_sealed bytea,
    previous_secret_until  timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    deleted_at        timestamptz
);
CREATE INDEX webhooks_client ON webhooks (client_id, created_at) WHERE deleted_at IS NULL;

CREATE TABLE webhook_deliveries (
    delivery_id     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    webhook_id      uuid NOT NULL REFERENCES webhooks ON DELETE CASCADE,
    event_id        uuid NOT NULL REFERENCES events,
    event_seq       bigint NOT NULL,
    -- pending: waiting for its turn or its next attempt; sending: claimed by an instance until
    -- lease_until (a claim that outlives its lease is taken again: redelivery, never loss);
    -- delivered; failed: retried for the whole retry window without a 2xx.
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'delivered', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_until     timestamptz,
    last_status     integer,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    UNIQUE (webhook_id, event_id)
);
-- Each webhook's queue in event order: its head is the next delivery to attempt.
CREATE INDEX webhook_deliveries_queue ON webhook_deliveries (webhook_id, event_seq)
    WHERE status IN ('pending', 'sending');

-- The envelope of contract 6: the event's fields, then the fields of its data at top level as
-- well (the newer guide shows e.g. access_code_id beside event_type). Rendered by the
-- database, so every attempt sends the same bytes.
CREATE FUNCTION event_envelope(e events) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT e.data || jsonb_build_object(
        'event_id', e.event_id,
        'event_type', e.event_type,
        'user_id', e.owner_id,
        'device_id', e.device_id,
        'timestamp', to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        'data', e.data)
$$;

-- Fan-out in the event's own transaction: one delivery per live webhook whose client holds a
-- live grant from the event's owner (a client never hears of owners it does not serve).
CREATE FUNCTION fan_out_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_deliveries (webhook_id, event_id, event_seq)
    SELECT w.webhook_id, NEW.event_id, NEW.seq
    FROM webhooks w
    WHERE w.deleted_at IS NULL
      AND (cardinality(w.event_types) = 0 OR NEW.event_type = ANY (w.event_types))
      AND EXISTS (SELECT 1 FROM oauth_grants g
                  WHERE g.client_id = w.client_id AND g.owner_id = NEW.owner_id AND g.revoked_at IS NULL);
    RETURN NULL;
END
$$;
CREATE TRIGGER events_fan_out AFTER INSERT ON events FOR EACH ROW EXECUTE FUNCTION fan_out_event();
