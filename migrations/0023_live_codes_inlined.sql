-- 0023: a lock's live codes (0008's definition, unchanged) as a set-returning SQL function,
-- which the planner inlines into the statement that joins it (LATERAL): a page of 100 locks
-- counts each lock's codes inside its one plan instead of through 100 PL/pgSQL calls. Those
-- calls were about half of PostgreSQL's CPU for GET /locks?limit=100 (issue 17), even with no
-- codes at all. live_code_count, for the statements that count one lock, now reads it too, so
-- the definition stays in one place.
CREATE FUNCTION live_codes_of(lock uuid) RETURNS TABLE (live_codes bigint) LANGUAGE sql STABLE AS $$
    SELECT count(*) FROM access_codes
    WHERE lock_id = lock AND state IN ('pending', 'active', 'removing') AND NOT expiry_removed
      AND NOT (is_offline AND ends_at <= now())
$$;

CREATE OR REPLACE FUNCTION live_code_count(lock uuid) RETURNS bigint LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT live_codes FROM live_codes_of(lock));
END
$$;
