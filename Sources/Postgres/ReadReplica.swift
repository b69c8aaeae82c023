import Logging
import Metrics
import NIOConcurrencyHelpers

/// A streaming replica for the reads that tolerate replication lag, and the rule that keeps
/// them consistent: a read goes to the replica only if the replica has replayed the primary's
/// WAL position taken when the request was authorized (the token check returns it, in the same
/// statement). Everything committed before the request began, the client's own writes above
/// all, is then visible on the replica; otherwise the read runs on the primary. A replica that
/// fails (down, erroring, out of connections) is skipped for a back-off (`ReplicaHealth`), so
/// reads fall back at once instead of each waiting for it.
///
/// The replay position (`pg_last_wal_replay_lsn()`) is read in a statement of its own before
/// the read's, in the same session (`PostgresConnectionPool.withPinnedConnection`): a snapshot
/// taken after it includes all it had replayed. (Checked inside the read's own statement, the
/// position would be read after the snapshot was taken, and could vouch for more than it shows.)
/// It is cached per session: a position read earlier in a session is never ahead of that
/// session's truth, so only a read that finds it behind (there were writes since) looks again.
/// Per session, not per pool, because a crashed replica restarts at an older state, and a read
/// URL naming several replicas (a DNS reader endpoint) reaches a different one per connection:
/// a new session starts with no position, and a read whose session changed under it (the
/// connection broke and reconnected) is thrown away and run on the primary.
public final class ReadReplica: Sendable {
    /// Where a read was served, the `outcome` label of `lockcloud_db_replica_reads_total`.
    public enum Outcome: String, Sendable, CaseIterable {
        /// On the replica, which had replayed the request's position.
        case replica
        /// On the primary: the replica had not replayed the position yet (or none was known).
        case primaryReplicaBehind = "primary_replica_behind"
        /// On the primary: the replica failed recently and is in its back-off.
        case primaryReplicaDown = "primary_replica_down"
        /// On the primary: the replica failed this read (then it is backed off).
        case primaryReplicaFailed = "primary_replica_failed"
    }

    public let pool: PostgresConnectionPool
    private let logger: Logger
    /// Per connection: the session it had and the replay position that session reported.
    private let replayed = NIOLockedValueBox<[UInt64: (session: UInt64, position: WALPosition)]>([:])
    private let health: NIOLockedValueBox<ReplicaHealth>
    private let counters: [Outcome: Counter]

    /// `backOff`: how long a failed replica is left alone before one read probes it again.
    public init(pool: PostgresConnectionPool, backOff: Duration, logger: Logger) {
        self.pool = pool
        self.logger = logger
        self.health = NIOLockedValueBox(ReplicaHealth(backOff: backOff))
        var counters: [Outcome: Counter] = [:]
        for outcome in Outcome.allCases {
            counters[outcome] = Counter(label: "lockcloud_db_replica_reads_total", dimensions: [("outcome", outcome.rawValue)])
        }
        self.counters = counters
    }

    /// Runs `onReplica` if the replica is usable and has replayed `position`, else (or if the
    /// replica fails it with a database error) `onPrimary`. Both must perform the same read.
    /// Errors that are not the database's (a malformed cursor) are the caller's answer and
    /// propagate from whichever ran.
    public func read<T: Sendable>(
        after position: WALPosition?,
        onPrimary: () async throws -> T,
        onReplica: () async throws -> T
    ) async throws -> T {
        guard let position else { return try await primary(.primaryReplicaBehind, onPrimary) }
        let admission = health.withLockedValue { $0.admit(now: .now) }
        if admission == .skip { return try await primary(.primaryReplicaDown, onPrimary) }
        do {
            let attempt = try await pool.withPinnedConnection { connection -> ReplicaAttempt<T> in
                guard let session = try await sessionHasReplayed(position, connection) else { return .behind }
                let value = try await onReplica()
                // A session that changed under the read (reconnected) was never checked.
                return connection.sessionNumber == session ? .served(value) : .behind
            }
            markAnswered(admission)
            guard case .served(let value) = attempt else { return try await primary(.primaryReplicaBehind, onPrimary) }
            counters[.replica]?.increment()
            return value
        } catch let error as PostgresError where !Task.isCancelled {
            // A value the primary could not decode or store either leaves the replica in use;
            // anything else (down, timed out, a recovery conflict, not a replica) backs it off.
            if error.kind != .decoding && error.kind != .unstorableParameter { markFailed(error) }
            return try await primary(.primaryReplicaFailed, onPrimary)
        } catch {
            health.withLockedValue { $0.abandonedProbe(now: .now) }
            throw error
        }
    }

    private func primary<T>(_ outcome: Outcome, _ body: () async throws -> T) async throws -> T {
        counters[outcome]?.increment()
        return try await body()
    }

    /// The pinned connection's session number if that session has replayed `position` (known
    /// from earlier in the session, else asked now), nil if it has not. A server that is not in
    /// recovery (a promoted replica, a wrong URL) has no replay position that means anything:
    /// that is a failure.
    private func sessionHasReplayed(_ position: WALPosition, _ connection: PostgresConnection) async throws -> UInt64? {
        let known = replayed.withLockedValue { $0[connection.id] }
        if let known, known.session == connection.sessionNumber, known.position >= position { return known.session }
        let row = try await pool.query(WALPosition.replayStatement).singleRow()
        guard let bytes = try row?.decode(Int64?.self, at: 0) else {
            throw PostgresError(.misuse, "the read replica is not in recovery (pg_last_wal_replay_lsn() is NULL)")
        }
        // The session that answered: the statement may have opened a new one.
        let session = connection.sessionNumber, now = WALPosition(bytes: bytes)
        replayed.withLockedValue { $0[connection.id] = (session, now) }
        return now >= position ? session : nil
    }

    /// Logged once per outage: when the replica first fails, and when a probe finds it back.
    private func markFailed(_ error: PostgresError) {
        let wasHealthy = health.withLockedValue { health in
            defer { health.failed(now: .now) }
            return health.state == .healthy
        }
        if wasHealthy {
            logger.warning("read replica unusable: its reads go to the primary, a probe retries it", metadata: ["error": "\(error)"])
        }
    }

    /// Only the probe reopens the replica: a read let through before a failure that ends
    /// after it says nothing about the replica now.
    private func markAnswered(_ admission: ReplicaHealth.Admission) {
        guard admission == .probe else { return }
        health.withLockedValue { $0.succeeded() }
        logger.info("read replica answers again: reads that allow it use it")
    }
}

/// What a read on the replica's session came to: its value, or "behind" (the session had not
/// replayed the position, or changed under the read).
private enum ReplicaAttempt<T: Sendable>: Sendable {
    case served(T)
    case behind
}
