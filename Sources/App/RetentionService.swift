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

    /// A table, the time column whose age makes a row deletable, what else must hold, and the
    /// period. Conditions are fixed text; only values are parameters. Deliveries go before
    /// events, which are kept while a delivery refers to them.
    var rules: [(table: String, time: String, also: String, seconds: Int)] {
        [
            ("oauth_access_tokens", "expires_at", "", policy.credentialsSeconds),
            ("oauth_authorization_codes", "expires_at", "", policy.credentialsSeconds),
            ("oauth_authorization_requests", "expires_at", "", 0),
            ("oauth_sessions", "expires_at", "", 0),
            ("sign_in_failures", "failed_at", "", policy.credentialsSeconds),
            ("idempotency_keys", "created_at", "", policy.idempotencyKeySeconds),
            ("webhook_deliveries", "created_at", "AND t.status IN ('delivered', 'failed')", policy.deliverySeconds),
            ("device_commands", "created_at", "AND t.status IN ('done', 'failed', 'expired')", policy.commandSeconds),
            ("events", "occurred_at", "AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = t.event_id)",
             policy.eventSeconds),
        ]
    }

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await runOnce()
            } catch {
                logger.warning("retention run failed; retrying next run", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: .seconds(intervalSeconds))
        }
    }

    /// One run: up to `maxBatchesPerRun` batches per table.
    func runOnce() async throws {
        for rule in rules {
            var rows = 0, batches = 0, largest = 0
            while batches < policy.maxBatchesPerRun && !Task.isShuttingDownGracefully {
                // Oldest first through the time column's index (a sequential scan would read the
                // dead rows of earlier batches again each time); ctid = ANY (ARRAY(...)) then
                // deletes exactly the locked rows, by a TID scan.
                let deleted = try await database.query(
                    """
                    DELETE FROM \(rule.table) WHERE ctid = ANY (ARRAY(
                        SELECT t.ctid FROM \(rule.table) t
                        WHERE t.\(rule.time) < now() - make_interval(secs => $1) \(rule.also)
                        ORDER BY t.\(rule.time) LIMIT $2 FOR UPDATE SKIP LOCKED))
                    """, [rule.seconds, policy.batchSize]
                ).affectedRows
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
