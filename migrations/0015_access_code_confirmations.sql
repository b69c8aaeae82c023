-- 0015: access-code events when the lock has acted (issue 15). `on_lock`: the lock has
-- confirmed some version of the code, so its first confirmation is `access_code.created` and
-- later ones are `access_code.updated`; a refused removal leaves a code that is still on the
-- lock, which a second DELETE must ask the lock to remove again.
ALTER TABLE access_codes ADD COLUMN on_lock boolean NOT NULL DEFAULT false;
UPDATE access_codes SET on_lock = true WHERE state IN ('active', 'removing') OR is_offline;

-- Every code as it can be read by id and through a list's filters: removed ones too, with
-- the status `removed` (visible_access_codes, which PATCH and DELETE use, still hides them).
CREATE VIEW readable_access_codes AS
SELECT c.*,
       CASE WHEN c.state = 'deleted' THEN 'removed'
            WHEN c.state = 'active' AND (c.ends_at <= now() OR c.spent_at IS NOT NULL) THEN 'expired'
            WHEN c.state = 'active' AND c.starts_at > now() THEN 'scheduled'
            ELSE c.state END AS status,
       (extract(epoch FROM c.created_at) * 1000000)::bigint AS created_micros
FROM access_codes c JOIN locks l USING (lock_id)
WHERE l.removed_at IS NULL;

-- Lists page through a lock's codes of every state in creation order (0005's index leaves
-- removed codes out).
CREATE INDEX access_codes_lock_created ON access_codes (lock_id, created_at, access_code_id);
