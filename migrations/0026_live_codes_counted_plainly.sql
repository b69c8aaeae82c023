-- 0026: what a live code is, written once as a function the planner inlines, and a lock's live
-- code count as one plain count again.
--
-- 0024 made live_codes_of (one lock: GET /locks/{id} and every write that answers with a lock)
-- a sum over live_code_counts(ARRAY[lock]), to keep the definition in one place: two aggregate
-- nodes, one of them hashed, which PostgreSQL sets up anew for every execution. A profile of
-- GET /locks/{id}'s statement put a quarter of PostgreSQL's time in setting up the plan's nodes
-- (ExecInitNode), a third of that in the aggregates. Now each function says its own count and
-- both take the condition from access_code_is_live, a single-expression SQL function: inlined,
-- it is the same condition written out (the partial index access_codes_lock_live still
-- matches its state test).
--
-- live_code_counts (a page of locks) joins the unnested ids instead of testing
-- `lock_id = ANY (lock_ids)` on every code: where the planner reads access_codes sequentially
-- (a small table, or a page whose locks hold most codes) each code was compared with up to
-- 100 ids one by one (a sub-select's array is never hashed; 14 % of PostgreSQL's CPU for a page
-- in a database of 199 codes). The ids are distinct (a page's locks), so each code counts once.
CREATE FUNCTION access_code_is_live(state text, expiry_removed boolean, is_offline boolean, ends_at timestamptz)
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT state IN ('pending', 'active', 'removing') AND NOT expiry_removed AND NOT (is_offline AND ends_at <= now())
$$;

CREATE OR REPLACE FUNCTION live_code_counts(lock_ids uuid[]) RETURNS TABLE (lock_id uuid, live_codes bigint)
LANGUAGE sql STABLE AS $$
    SELECT a.lock_id, count(*) FROM unnest(lock_ids) AS page(lock_id) JOIN access_codes a USING (lock_id)
    WHERE access_code_is_live(a.state, a.expiry_removed, a.is_offline, a.ends_at)
    GROUP BY a.lock_id
$$;

CREATE OR REPLACE FUNCTION live_codes_of(lock uuid) RETURNS TABLE (live_codes bigint) LANGUAGE sql STABLE AS $$
    SELECT count(*) FROM access_codes a
    WHERE a.lock_id = lock AND access_code_is_live(a.state, a.expiry_removed, a.is_offline, a.ends_at)
$$;
