-- 0022: wake-ups for locks waiting in a long poll (issue 17). Instead of every waiting lock
-- asking the database every 150 ms, each instance LISTENs on one connection and wakes its own
-- waiters (Sources/App/DeviceCommandNotifications.swift). NOTIFY is sent at commit, so a woken
-- lock always finds its command; payloads are lock ids.

-- A new command for a lock.
CREATE FUNCTION notify_device_command() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('lockcloud_device_commands', NEW.lock_id::text);
    RETURN NULL;
END $$;

CREATE TRIGGER device_commands_notify AFTER INSERT ON device_commands
    FOR EACH ROW EXECUTE FUNCTION notify_device_command();

-- A lock's device credential changed or stopped being valid (re-pairing, unpairing): instances
-- drop what they remembered of it, so a cached credential never outlives its revocation.
CREATE FUNCTION notify_lock_credential() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('lockcloud_lock_credentials', OLD.lock_id::text);
    RETURN NULL;
END $$;

CREATE TRIGGER locks_credential_notify AFTER UPDATE OF device_credential_hash, removed_at ON locks
    FOR EACH ROW WHEN (OLD.device_credential_hash IS DISTINCT FROM NEW.device_credential_hash
                       OR OLD.removed_at IS DISTINCT FROM NEW.removed_at)
    EXECUTE FUNCTION notify_lock_credential();

CREATE TRIGGER locks_credential_notify_delete AFTER DELETE ON locks
    FOR EACH ROW EXECUTE FUNCTION notify_lock_credential();
