-- 0013: LCPIN2 (docs/offline-pin-scheme.md, issue 14). Every stored grant says which scheme
-- computed its PIN, so a later scheme can live beside it; offline rows issued before this
-- migration were LCPIN1 (none is in the field, but development databases hold some).
ALTER TABLE access_codes
    ADD COLUMN offline_scheme text CHECK (offline_scheme IN ('LCPIN1', 'LCPIN2'));
UPDATE access_codes SET offline_scheme = 'LCPIN1' WHERE is_offline;
ALTER TABLE access_codes
    ADD CONSTRAINT access_codes_offline_scheme CHECK (is_offline = (offline_scheme IS NOT NULL));

-- Section 8: 11 digits is the shortest length that meets the targets (<= 1e-5 per typed PIN,
-- <= 1 % per lock-year under the failure budget); scripts/offline_pin_figures.py shows why.
UPDATE lock_models SET offline_pin_length = 11 WHERE model_id = 'lc-200';

-- Whether the lock's last heartbeat put its clock beyond the drift tolerance (900 s): the
-- first such heartbeat records device.time_wrong, the next one within tolerance clears it.
ALTER TABLE locks
    ADD COLUMN device_time_wrong boolean NOT NULL DEFAULT false;
