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
