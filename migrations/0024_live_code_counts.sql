-- 0024: the live codes of many locks in one aggregate (issue 17). A page of 100 locks joined
-- live_codes_of once per lock: 100 index scans, each with its own count, were most of
-- PostgreSQL's CPU for GET /locks?limit=100. live_code_counts takes the page's lock ids and
-- counts them in one scan; a lock with no live code has no row. live_codes_of (0023) now reads
-- it, so the definition of a live code stays in one place. Both are single-SELECT SQL functions
-- the planner inlines into the statement that joins them (with a plain column as argument: an
-- argument holding a sub-select would stop the inlining).
CREATE FUNCTION live_code_counts(lock_ids uuid[]) RETURNS TABLE (lock_id uuid, live_codes bigint)
LANGUAGE sql STABLE AS $$
    SELECT a.lock_id, count(*) FROM access_codes a
    WHERE a.lock_id = ANY (lock_ids) AND a.state IN ('pending', 'active', 'removing') AND NOT a.expiry_removed
      AND NOT (a.is_offline AND a.ends_at <= now())
    GROUP BY a.lock_id
$$;

CREATE OR REPLACE FUNCTION live_codes_of(lock uuid) RETURNS TABLE (live_codes bigint) LANGUAGE sql STABLE AS $$
    SELECT coalesce(sum(n.live_codes), 0)::bigint FROM live_code_counts(ARRAY[lock]) n
$$;
