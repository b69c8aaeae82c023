import Logging
import Postgres
import ServiceLifecycle

/// How long finished rows are kept (README, Operations). Each period counts from the moment
/// the row stopped being needed: a token's or code's expiry, a key's or delivery's creation.
struct RetentionPolicy: Sendable {
    /// Access tokens (revoked ones included: they expire like the rest), authorization codes
    /// (used or not) and sign-in failures.
    var credentialsSeconds = 86_400
    var idempotencyKeySeconds = IdempotencyMiddleware.defaultRetentionSeconds
    /// Delivered or finally failed webhook deliveries; queued ones are never deleted.
    var deliverySeconds = 30 * 86_400
    /// Finished device commands (done, failed, expired); open ones are never deleted.
    var commandSeconds = 30 * 86_400
    /// Events no delivery refers to any more.
    var eventSeconds = 90 * 86_400
    /// Rows per DELETE statement: each is a short transaction, so requests never wait long
    /// for the rows or the WAL a batch writes.
    var batchSize = 1000
    /// Batches per table per run: the bound on one run's work; what is left waits a run.
    var maxBatchesPerRun = 100
}

/// Deletes what the policy no longer keeps, table by table, a batch per statement. Each batch
/// locks its rows with SKIP LOCKED, so any number of instances may run this at once: they
/// share the work instead of waiting for each other.
struct RetentionService: Service {
    let database: PostgresConnectionPool
    let policy: RetentionPolicy
    let intervalSeconds: Int
    let logger: Logger

    /// Each table's batch statement (`$1`: the period in seconds, `$2`: the batch size) and its
    /// period. Oldest first through the time column's index (a sequential scan would read the
    /// dead rows of earlier batches again each time); `ctid = ANY (ARRAY(...))` then deletes
    /// exactly the locked rows, by a TID scan. Deliveries go before events, which are kept
    /// while a delivery refers to them.
    var rules: [(table: String, statement: SQL, seconds: Int)] {
        [
            ("oauth_access_tokens", """
                DELETE FROM oauth_access_tokens WHERE ctid = ANY (ARRAY(
                    SELECT t.ctid FROM oauth_access_tokens t WHERE t.expires_at < now() - make_interval(secs => $1)
                    ORDER BY t.expires_at LIMIT $2 FOR UPDATE SKIP LOCKED))
                """, policy.credentialsSeconds),
            ("oauth_authorization_codes", """
                DELETE FROM oauth_authorization_codes WHERE ctid = ANY (ARRAY(
                    SELECT t.ctid FROM oauth_authorization_codes t WHERE t.expires_at < now() - make_interval(secs => $1)
                    ORDER BY t.expires_at LIMIT $2 FOR UPDATE SKIP LOCKED))
                """, policy.credentialsSeconds),
            ("oauth_authorization_requests", """
                DELETE FROM oauth_authorization_requests WHERE ctid = ANY (ARRAY(
                    SELECT t.ctid FROM oauth_authorization_requests t WHERE t.expires_at < now() - make_interval(secs => $1)
                    ORDER BY t.expires_at LIMIT $2 FOR UPDATE SKIP LOCKED))
                """, 0),
            ("oauth_sessions", """
                DELETE FROM oauth_sessions WHERE ctid = ANY (ARRAY(
                    SELECT t.ctid FROM oauth_sessions t WHERE t.expires_at < now() - make_interval(secs => $1)
                    ORDER BY t.expires_at LIMIT $2 FOR UPDATE SKIP LOCKED))
                """, 0),
            ("sign_in_failures", """
                DELETE FROM sign_in_failures WHERE ctid = ANY (ARRAY(
                    SELECT t.ctid FROM sign_in_failures t WHERE t.failed_at < now() - make_interval(secs => $1)
                    ORDER BY t.failed_at LIMIT $2 FOR UPDATE SKIP LOCKED))
                """, policy.credentialsSeconds),
            ("idempotency_keys", """
                DELETE FROM idempotency_keys WHERE ctid = ANY (ARRAY(
                    SELECT t.ctid FROM idempotency_keys t WHERE t.created_at < now() - make_interval(secs => $1)
                    ORDER BY t.created_at LIMIT $2 FOR UPDATE SKIP LOCKED))
                """, policy.idempotencyKeySeconds),
            ("webhook_deliveries", """
                DELETE FROM webhook_deliveries WHERE ctid = ANY (ARRAY(
                    SELECT t.ctid FROM webhook_deliveries t WHERE t.created_at < now() - make_interval(secs => $1) AND t.status IN ('delivered', 'failed')
                    ORDER BY t.created_at LIMIT $2 FOR UPDATE SKIP LOCKED))
                """, policy.deliverySeconds),
            ("device_commands", """
                DELETE FROM device_commands WHERE ctid = ANY (ARRAY(
                    SELECT t.ctid FROM device_commands t WHERE t.created_at < now() - make_interval(secs => $1) AND t.status IN ('done', 'failed', 'expired')
                    ORDER BY t.created_at LIMIT $2 FOR UPDATE SKIP LOCKED))
                """, policy.commandSeconds),
            ("events", """
                DELETE FROM events WHERE ctid = ANY (ARRAY(
                    SELECT t.ctid FROM events t WHERE t.occurred_at < now() - make_interval(secs => $1) AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = t.event_id)
                    ORDER BY t.occurred_at LIMIT $2 FOR UPDATE SKIP LOCKED))
                """, policy.eventSeconds),
        ]
    }

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await runOnce()
            } catch {
                logger.warning("retention run failed; retrying next run", metadata: ["error": "\(error)"])
            }
            // The pause ends at shutdown: a plain sleep kept SIGTERM waiting up to the interval.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(intervalSeconds)) }
        }
    }

    /// One run: up to `maxBatchesPerRun` batches per table.
    func runOnce() async throws {
        for rule in rules {
            var rows = 0, batches = 0, largest = 0
            while batches < policy.maxBatchesPerRun && !Task.isShuttingDownGracefully {
                let deleted = try await database.query(rule.statement, [rule.seconds, policy.batchSize]).affectedRows
                guard deleted > 0 else { break }
                rows += deleted
                batches += 1
                largest = max(largest, deleted)
                if deleted < policy.batchSize { break }
            }
            if rows > 0 {
                logger.info(
                    "retention deleted rows",
                    metadata: ["table": "\(rule.table)", "rows": "\(rows)", "batches": "\(batches)", "largest_batch": "\(largest)"])
            }
        }
    }
}
