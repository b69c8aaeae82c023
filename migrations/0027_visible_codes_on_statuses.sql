-- 0027: visible_access_codes (0020), which single-code reads, PATCH and DELETE use, now takes
-- a code's status from access_code_statuses (0025) instead of spelling out its own CASE, so
-- the status is defined in one place for every read. Same columns, same rows: deleted codes
-- and the codes of removed locks stay hidden ('removed', the CASE's one extra branch, belongs
-- to deleted codes only).
CREATE OR REPLACE VIEW visible_access_codes AS
SELECT s.access_code_id, s.lock_id, s.owner_id, s.name, s.code, s.starts_at, s.ends_at, s.state, s.expiry_removed,
       s.errors, s.warnings, s.created_at, s.updated_at, s.is_offline, s.offline_type, s.key_version, s.slot_period,
       s.slot, s.first_used_at, s.spent_at, s.status,
       (extract(epoch FROM s.created_at - timestamptz '1970-01-01 00:00:00+00') * 1000000)::bigint AS created_micros
FROM access_code_statuses s JOIN locks l USING (lock_id)
WHERE s.state <> 'deleted' AND l.removed_at IS NULL;
