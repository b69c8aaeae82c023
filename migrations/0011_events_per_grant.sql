-- 0011: events belong to the grant that may see them (issue 13). An OAuth client sees an
-- owner's events from its live grant's start on, never another client's identifiers, and
-- nothing once the grant is revoked: in GET /events, in the delivery fan-out, and again when a
-- queued delivery is about to be sent.

-- The client whose request an event answers, where the event carries that request's
-- identifiers (today: lock.action_completed with action_id and custom_id). NULL for events of
-- the lock itself, the server, and rows from before this migration, whose client is unknown:
-- their identifiers are shown to no client. Plain text without a foreign key: deleting a
-- client must not make its identifiers everyone's.
ALTER TABLE events ADD COLUMN client_id text;
ALTER TABLE lock_actions ADD COLUMN client_id text;

-- Where a grant's view of its owner's events starts: at events numbered after this. A new
-- grant takes a number from the events' own sequence, so every event inserted after the grant
-- was created (the only ones the fan-out trigger can queue for it) is numbered above it. A
-- grant revoked and later given again is a new grant: it starts afresh. Grants from before
-- this migration start at their owner's last event older than the grant.
ALTER TABLE oauth_grants ADD COLUMN events_after_seq bigint;
UPDATE oauth_grants g SET events_after_seq = coalesce(
    (SELECT max(e.seq) FROM events e WHERE e.owner_id = g.owner_id AND e.occurred_at < g.created_at), 0);
ALTER TABLE oauth_grants ALTER COLUMN events_after_seq SET DEFAULT nextval('events_seq_seq');
ALTER TABLE oauth_grants ALTER COLUMN events_after_seq SET NOT NULL;

-- Whether `viewer`'s grants from the owner cover this event: a live grant that started before it.
CREATE FUNCTION event_visible_to(e events, viewer text) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM oauth_grants g
                   WHERE g.client_id = viewer AND g.owner_id = e.owner_id AND g.revoked_at IS NULL
                     AND e.seq > g.events_after_seq)
$$;

-- The envelope as `viewer` may see it: another client's identifiers (`custom_id`, `action_id`)
-- become null, at top level and in `data`; the rest is event_envelope's, byte for byte.
CREATE FUNCTION event_envelope_for(e events, viewer text) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN hidden = '{}'::jsonb THEN event_envelope(e)
                ELSE event_envelope(e) || hidden || jsonb_build_object('data', e.data || hidden) END
    FROM (SELECT coalesce(jsonb_object_agg(key, 'null'::jsonb), '{}'::jsonb) AS hidden
          FROM jsonb_object_keys(e.data) AS key
          WHERE key IN ('custom_id', 'action_id') AND e.client_id IS DISTINCT FROM viewer) h
$$;

-- The fan-out queues an event only for grants it belongs to (see event_visible_to).
CREATE OR REPLACE FUNCTION fan_out_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_deliveries (webhook_id, event_id, event_seq)
    SELECT w.webhook_id, NEW.event_id, NEW.seq
    FROM webhooks w
    WHERE w.deleted_at IS NULL
      AND (cardinality(w.event_types) = 0 OR NEW.event_type = ANY (w.event_types))
      AND event_visible_to(NEW, w.client_id);
    RETURN NULL;
END
$$;
