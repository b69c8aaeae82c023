-- 0010: the sweeper's "locks silent too long" statement (DeviceGatewayStore.markSilentLocksOffline,
-- every few seconds on every instance) read the whole locks table: 20 ms and 3,700 buffers per
-- run with a million locks in `make bench`, stealing CPU from requests. With this index it
-- reads only online locks whose last heartbeat is older than the cut-off (normally none).
CREATE INDEX locks_silent ON locks (last_heartbeat_at) WHERE online AND removed_at IS NULL;
