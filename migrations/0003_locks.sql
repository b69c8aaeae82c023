-- 0003: lock models, locks and the event log (contract sections 4 and 6).

-- Models are data, not code: a new model is a row.
CREATE TABLE lock_models (
    model_id               text PRIMARY KEY,
    name                   text NOT NULL,
    code_length_min        integer NOT NULL CHECK (code_length_min BETWEEN 1 AND 16),
    code_length_max        integer NOT NULL CHECK (code_length_max BETWEEN code_length_min AND 16),
    max_access_codes       integer NOT NULL CHECK (max_access_codes > 0),
    supports_online_codes  boolean NOT NULL,
    supports_offline_codes boolean NOT NULL,
    offline_pin_length     integer CHECK (offline_pin_length BETWEEN 6 AND 16),
    is_default             boolean NOT NULL DEFAULT false,
    CHECK (NOT supports_offline_codes OR offline_pin_length IS NOT NULL)
);
CREATE UNIQUE INDEX lock_models_one_default ON lock_models (is_default) WHERE is_default;

INSERT INTO lock_models VALUES
    ('lc-200', 'LockCloud LC-200 keypad deadbolt', 4, 8, 199, true, true, 9, true),
    ('lc-100', 'LockCloud LC-100 keypad lever (online codes only)', 4, 8, 50, true, false, NULL, false);

CREATE TABLE locks (
    lock_id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    owner_id                 uuid NOT NULL REFERENCES owners,
    model_id                 text NOT NULL REFERENCES lock_models,
    name                     text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    address                  text CHECK (length(address) <= 500),
    timezone                 text NOT NULL,
    latitude                 double precision CHECK (latitude BETWEEN -90 AND 90),
    longitude                double precision CHECK (longitude BETWEEN -180 AND 180),
    bridge_id                uuid,
    online                   boolean NOT NULL DEFAULT false,
    battery_level            integer CHECK (battery_level BETWEEN 0 AND 100),
    signal_quality           integer CHECK (signal_quality BETWEEN 0 AND 100),
    lock_state               text NOT NULL DEFAULT 'unknown' CHECK (lock_state IN ('locked', 'unlocked', 'unknown')),
    door_state               text NOT NULL DEFAULT 'unknown' CHECK (door_state IN ('open', 'closed', 'ajar', 'unknown')),
    device_time              timestamptz,
    last_heartbeat_at        timestamptz,
    -- The lock's own credential for the device gateway, stored hashed.
    device_credential_hash   bytea NOT NULL,
    -- The lock's offline PIN key: AES-GCM under the configured key-encryption key.
    offline_key_sealed       bytea NOT NULL,
    offline_key_version      integer NOT NULL DEFAULT 1,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    -- Unpaired locks keep their row (history and events refer to it) but leave every API.
    removed_at               timestamptz,
    CONSTRAINT locks_device_credential_hash_key UNIQUE (device_credential_hash),
    CHECK ((latitude IS NULL) = (longitude IS NULL))
);
CREATE TRIGGER locks_updated_at BEFORE UPDATE ON locks FOR EACH ROW EXECUTE FUNCTION set_updated_at();
-- The owner's lock list, in its stable page order.
CREATE INDEX locks_owner_page ON locks (owner_id, created_at, lock_id) WHERE removed_at IS NULL;

-- Every event, written in the same transaction as the change that causes it. Webhook delivery
-- reads from here.
CREATE TABLE events (
    event_id    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    event_type  text NOT NULL,
    owner_id    uuid NOT NULL REFERENCES owners,
    device_id   uuid REFERENCES locks,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    data        jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX events_owner_time ON events (owner_id, occurred_at, event_id);

-- A paired lock as the API shows it: the lock's fields with its model's capabilities, and
-- created_at in whole microseconds for exact keyset pagination.
CREATE VIEW live_locks AS
SELECT l.lock_id, l.owner_id, l.name, l.model_id, l.address, l.timezone, l.latitude, l.longitude, l.bridge_id,
       l.online, l.battery_level, l.signal_quality, l.lock_state, l.door_state, l.device_time,
       l.created_at, l.updated_at,
       (extract(epoch FROM l.created_at) * 1000000)::bigint AS created_micros,
       m.supports_online_codes, m.supports_offline_codes, m.code_length_min, m.code_length_max, m.max_access_codes
FROM locks l JOIN lock_models m USING (model_id)
WHERE l.removed_at IS NULL;
