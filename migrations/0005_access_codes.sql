-- 0005: PIN access codes, programmed onto locks through the device gateway (contract 5), and
-- the Idempotency-Key store shared by every POST of the API (contract 1).

CREATE TABLE access_codes (
    access_code_id  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    lock_id         uuid NOT NULL REFERENCES locks,
    owner_id        uuid NOT NULL REFERENCES owners,
    name            text CHECK (length(name) <= 200),
    code            text NOT NULL CHECK (code ~ '^[0-9]{1,16}$'),
    starts_at       timestamptz,
    ends_at         timestamptz,
    -- pending: waiting for the lock; active: on the lock (scheduled/expired are derived from
    -- the times); failed: the lock refused it; removing: delete sent; deleted: confirmed gone.
    state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'active', 'failed', 'removing', 'deleted')),
    -- Removed from the lock after ends_at; the code then no longer occupies a slot or its PIN.
    expiry_removed  boolean NOT NULL DEFAULT false,
    errors          jsonb NOT NULL DEFAULT '[]',
    warnings        jsonb NOT NULL DEFAULT '[]',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at IS NULL OR starts_at IS NULL OR ends_at > starts_at)
);
CREATE TRIGGER access_codes_updated_at BEFORE UPDATE ON access_codes FOR EACH ROW EXECUTE FUNCTION set_updated_at();
-- No two live codes on a lock share a PIN, whichever instance writes them.
CREATE UNIQUE INDEX access_codes_live_pin ON access_codes (lock_id, code)
    WHERE state IN ('pending', 'active', 'removing') AND NOT expiry_removed;
CREATE INDEX access_codes_lock_page ON access_codes (lock_id, created_at, access_code_id) WHERE state <> 'deleted';
CREATE INDEX access_codes_to_expire ON access_codes (ends_at) WHERE state = 'active' AND NOT expiry_removed;

ALTER TABLE device_commands ADD COLUMN access_code_id uuid REFERENCES access_codes;

CREATE TABLE idempotency_keys (
    scope         text NOT NULL,
    key           text NOT NULL,
    request_hash  bytea NOT NULL,
    status_code   integer,
    content_type  text,
    response_body bytea,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);

-- A code as the API shows it: status derived from the stored state and the clock.
CREATE VIEW visible_access_codes AS
SELECT c.*,
       CASE WHEN c.state = 'active' AND c.ends_at <= now() THEN 'expired'
            WHEN c.state = 'active' AND c.starts_at > now() THEN 'scheduled'
            ELSE c.state END AS status,
       (extract(epoch FROM c.created_at) * 1000000)::bigint AS created_micros
FROM access_codes c JOIN locks l USING (lock_id)
WHERE c.state <> 'deleted' AND l.removed_at IS NULL;
