-- 0008: one definition of "a code that holds one of the lock's places" (max_access_codes),
-- used by online and offline creates alike: not deleted, not removed after its end, and for an
-- offline code not past its end even before the sweeper has marked it.
CREATE FUNCTION live_code_count(lock uuid) RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT count(*) FROM access_codes
    WHERE lock_id = lock AND state IN ('pending', 'active', 'removing') AND NOT expiry_removed
      AND NOT (is_offline AND ends_at <= now())
$$;
