-- 0006: the offline PIN registry (contract 5, docs/offline-pin-scheme.md). Offline codes are
-- rows of access_codes like online ones, so the 199-code limit, PIN uniqueness and the API's
-- lists cover both; these columns say which slot of the scheme a code holds.

ALTER TABLE access_codes
    ADD COLUMN is_offline   boolean NOT NULL DEFAULT false,
    ADD COLUMN offline_type text CHECK (offline_type IN ('hourly_bound', 'daily_bound', 'one_time_use', 'permanent', 'erase')),
    -- The grant the PIN encodes: key version, period (start hour for hourly codes, UTC day of
    -- the start otherwise, both counted from the scheme epoch) and slot within the period.
    ADD COLUMN key_version  integer CHECK (key_version BETWEEN 1 AND 65535),
    ADD COLUMN slot_period  bigint,
    ADD COLUMN slot         integer CHECK (slot BETWEEN 0 AND 4),
    -- First time the lock reported the code used (its activation), and for one-time and erase
    -- codes the use that spent it.
    ADD COLUMN first_used_at timestamptz,
    ADD COLUMN spent_at      timestamptz,
    ADD CONSTRAINT access_codes_offline_grant CHECK (
        is_offline = (offline_type IS NOT NULL)
        AND is_offline = (key_version IS NOT NULL)
        AND is_offline = (slot_period IS NOT NULL)
        AND is_offline = (slot IS NOT NULL)
        AND (NOT is_offline OR starts_at IS NOT NULL));

-- Each slot of a key version is handed out once per lock, ever: a second PIN from the same
-- slot would let someone holding both solve for the slot's multiplier. This index is the
-- registry's real slot accounting, whichever server instance issues the code.
CREATE UNIQUE INDEX access_codes_offline_slot ON access_codes (lock_id, offline_type, key_version, slot_period, slot)
    WHERE is_offline;
-- Live offline codes by period, for the per-period limits.
CREATE INDEX access_codes_offline_period ON access_codes (lock_id, offline_type, slot_period)
    WHERE is_offline AND NOT expiry_removed;

-- Key versions (docs/offline-pin-scheme.md section 1). offline_key_version is the version new
-- codes are issued with; offline_lock_key_version is the oldest version the lock still
-- searches, as it last reported. The lock searches that version and the next one, so new codes
-- may only use those two.
ALTER TABLE locks
    ADD COLUMN offline_lock_key_version integer NOT NULL DEFAULT 1 CHECK (offline_lock_key_version BETWEEN 1 AND 65535),
    ADD CONSTRAINT locks_offline_key_version_range CHECK (offline_key_version BETWEEN 1 AND 65535);

-- Offline codes have nothing to remove from the lock when they end: the sweeper just stops
-- counting them. Status: a spent one-time code is expired like one past its end.
-- (Dropped and made again: its column list grows in the middle.)
DROP VIEW visible_access_codes;
CREATE VIEW visible_access_codes AS
SELECT c.*,
       CASE WHEN c.state = 'active' AND (c.ends_at <= now() OR c.spent_at IS NOT NULL) THEN 'expired'
            WHEN c.state = 'active' AND c.starts_at > now() THEN 'scheduled'
            ELSE c.state END AS status,
       (extract(epoch FROM c.created_at) * 1000000)::bigint AS created_micros
FROM access_codes c JOIN locks l USING (lock_id)
WHERE c.state <> 'deleted' AND l.removed_at IS NULL;
