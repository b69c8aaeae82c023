-- 0025: list pages ordered by created_at itself (issue 17). The statements used to page by
-- created_micros, an exact bigint computed as extract(epoch ...) * 1000000: numeric arithmetic,
-- evaluated per row for the cursor condition, the sort and the output. For a lock's list of
-- 199 codes that was about 40 % of PostgreSQL's time per page (pgbench of the statement alone:
-- 1,280 -> 2,180 per second without it), since readable_access_codes (0015) never matched an
-- index and sorted every code. timestamptz holds whole microseconds and sorts the same way,
-- so the statements now compare (created_at, id) with the cursor's instant sent exactly
-- (ExactTimestamp) and read created_at exactly for the next cursor; cursors already issued
-- keep their meaning. The views keep their created_micros column, computed only if selected.

-- Lock pages: the created_at index of 0003, back in place of 0020's expression index.
CREATE INDEX locks_owner_page ON locks (owner_id, created_at, lock_id) WHERE removed_at IS NULL;
DROP INDEX locks_owner_page_micros;
-- Code pages: every code through access_codes_lock_created (0015: lock_id, created_at,
-- access_code_id); live codes (the default list) through this one, which holds only the states
-- a live status can have, so an old lock's history of removed and ended codes is never read.
-- It replaces 0020's expression index, which no statement uses any more.
CREATE INDEX access_codes_lock_live ON access_codes (lock_id, created_at, access_code_id)
    WHERE state IN ('pending', 'active', 'removing');
DROP INDEX access_codes_lock_page_micros;

-- A code's status for reads, without the join to its lock (visible_access_codes, which hides
-- removed codes, still spells out its own CASE from 0020): readable_access_codes joins
-- locks once per code to hide a removed lock's codes, which a page (whose statement checks its
-- lock first) paid 199 times over; pgbench of the page alone went 1,450 -> 1,860 per second
-- without it. readable_access_codes keeps its columns and its meaning, now built on this view.
CREATE VIEW access_code_statuses AS
SELECT c.*,
       CASE WHEN c.state = 'deleted' THEN 'removed'
            WHEN c.state = 'active' AND (c.ends_at <= now() OR c.spent_at IS NOT NULL) THEN 'expired'
            WHEN c.state = 'active' AND c.starts_at > now() THEN 'scheduled'
            ELSE c.state END AS status
FROM access_codes c;

CREATE OR REPLACE VIEW readable_access_codes AS
SELECT s.*, (extract(epoch FROM s.created_at) * 1000000)::bigint AS created_micros
FROM access_code_statuses s JOIN locks l USING (lock_id)
WHERE l.removed_at IS NULL;
