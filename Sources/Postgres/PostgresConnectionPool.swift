import Logging
import Metrics
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A bounded pool of libpq connections: blocking work on a dedicated thread per connection,
/// single prepared statements answered through one `PostgresReactor`.
///
/// - Checkout waits at most `acquireTimeout`; then the caller gets `.poolTimeout` (a 503 at the
///   HTTP edge), never an endless wait.
/// - The pool has as many threads as connections, so a checked-out connection always finds a
///   thread at once and blocking libpq calls never touch an event loop or the cooperative pool.
/// - Connections open lazily and are replaced when found broken, so a database restart heals
///   without restarting LockCloud.
public final class PostgresConnectionPool: Sendable {
    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<PostgresConnection, any Error>
        let deadline: NIODeadline
    }

    private struct State {
        var idle: [PostgresConnection]
        var waiters: [Waiter] = []
        var nextWaiterID: UInt64 = 0
        var inUse = 0
        var isShutDown = false
    }

    public let settings: PostgresPoolSettings
    private let threadPool: NIOThreadPool
    let reactor = PostgresReactor()
    private let expiryTimer = NIOLockedValueBox<RepeatedTask?>(nil)
    private let state: NIOLockedValueBox<State>
    private let logger: Logger
    private let inUseGauge: Gauge
    private let waitingGauge: Gauge
    private let timeoutCounter: Counter

    /// `metricsPrefix` names the pool's gauges and counter (`<prefix>_in_use` and so on), so a
    /// second pool (the read replica's) is told apart from the primary's.
    public init(
        connection: PostgresConnectionSettings, pool: PostgresPoolSettings, logger: Logger,
        metricsPrefix: String = "lockcloud_db_pool"
    ) {
        self.settings = pool
        self.logger = logger
        self.inUseGauge = Gauge(label: metricsPrefix + "_in_use")
        self.waitingGauge = Gauge(label: metricsPrefix + "_waiting")
        self.timeoutCounter = Counter(label: metricsPrefix + "_acquire_timeouts_total")
        let connections = (0..<pool.size).map { _ in PostgresConnection(settings: connection, logger: logger) }
        self.state = NIOLockedValueBox(State(idle: connections))
        self.threadPool = NIOThreadPool(numberOfThreads: pool.size)
        self.threadPool.start()
        Gauge(label: metricsPrefix + "_size").record(pool.size)
        // Acquire timeouts are checked this often, so a waiter fails at most this much late.
        let timer = MultiThreadedEventLoopGroup.singleton.any().scheduleRepeatedTask(
            initialDelay: .milliseconds(25), delay: .milliseconds(25)
        ) { [weak self] _ in self?.expireWaiters() }
        expiryTimer.withLockedValue { $0 = timer }
    }

    deinit {
        expiryTimer.withLockedValue { $0?.cancel() }
        reactor.stop()
    }

    /// Connections checked out right now, and callers waiting for one.
    public var usage: (inUse: Int, waiting: Int) {
        state.withLockedValue { ($0.inUse, $0.waiters.count) }
    }

    /// Checks out a connection, runs `body` on the connection's thread, and returns it to the
    /// pool. `body` is synchronous on purpose: it runs on a blocking thread, holding the
    /// connection, and must not wait on anything but the database.
    public func withConnection<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        if let pinned = pinnedConnection { return try await runBlocking(on: pinned, body) }
        let connection = try await acquire()
        defer { release(connection) }
        return try await runBlocking(on: connection, body)
    }

    /// A connection one task holds across statements (`withPinnedConnection`); the task-local
    /// is per pool, so another pool's statements in the same task are not affected.
    private struct Pin: Sendable {
        let pool: ObjectIdentifier
        let connection: PostgresConnection
    }

    @TaskLocal private static var pin: Pin?

    private var pinnedConnection: PostgresConnection? {
        guard let pin = Self.pin, pin.pool == ObjectIdentifier(self) else { return nil }
        return pin.connection
    }

    /// Runs `body` with one connection checked out for it: every statement this pool runs for
    /// the task meanwhile (`query`, `withConnection`) uses that connection, one at a time, so
    /// they share one server session (`ReadReplica` checks a replica's replay position and then
    /// reads in the same session). `body` must not run this pool's statements concurrently.
    public func withPinnedConnection<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        if let pinned = pinnedConnection { return try await body(pinned) }
        let connection = try await acquire()
        defer { release(connection) }
        return try await Self.$pin.withValue(Pin(pool: ObjectIdentifier(self), connection: connection)) {
            try await body(connection)
        }
    }

    /// Runs `body` on the connection's thread. A cancellation of the calling task reaches the
    /// statement running there through `cancelRequested` (the thread cannot see the task).
    private func runBlocking<T: Sendable>(
        on connection: PostgresConnection, _ body: @escaping @Sendable (PostgresConnection) throws -> T
    ) async throws -> T {
        connection.cancelRequested.withLockedValue { $0 = Task.isCancelled }
        return try await withTaskCancellationHandler {
            try await threadPool.runIfActive {
                try connection.ensureUsable()
                return try body(connection)
            }
        } onCancel: {
            connection.cancelRequested.withLockedValue { $0 = true }
        }
    }

    /// Runs one statement on any free connection. A statement this connection has prepared
    /// before is sent from the caller's thread and its answer collected by the reactor; the
    /// first use of a statement (which prepares it), and a connection that must reconnect,
    /// take a pool thread.
    @discardableResult
    public func query(_ sql: SQL, _ parameters: [(any PostgresEncodable)?] = []) async throws -> PostgresResult {
        if let pinned = pinnedConnection { return try await query(sql, parameters, on: pinned) }
        let connection = try await acquire()
        defer { release(connection) }
        return try await query(sql, parameters, on: connection)
    }

    private func query(_ sql: SQL, _ parameters: [(any PostgresEncodable)?], on connection: PostgresConnection) async throws -> PostgresResult {
        if let socket = try connection.sendPrepared(sql, parameters) {
            return try await reactor.result(of: connection, socket: socket)
        }
        return try await runBlocking(on: connection) { try $0.query(sql, parameters) }
    }

    /// Closes every connection and stops the threads; later calls fail with `.poolShutdown`.
    public func shutdown() async {
        let (waiters, idle) = state.withLockedValue { state in
            state.isShutDown = true
            defer { state.waiters.removeAll(); state.idle.removeAll() }
            return (state.waiters, state.idle)
        }
        expiryTimer.withLockedValue { $0?.cancel() }
        reactor.stop()
        for waiter in waiters {
            waiter.continuation.resume(throwing: PostgresError(.poolShutdown, "database pool is shut down"))
        }
        try? await threadPool.shutdownGracefully()
        idle.forEach { $0.close() }
    }

    private func acquire() async throws -> PostgresConnection {
        let waiterID = state.withLockedValue { state -> UInt64 in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<PostgresConnection, any Error>) in
                enum Outcome { case ready(PostgresConnection), queued(waiting: Int), shutDown }
                let deadline = NIODeadline.now() + TimeAmount(settings.acquireTimeout)
                let outcome = state.withLockedValue { state -> Outcome in
                    if state.isShutDown { return .shutDown }
                    if let connection = state.idle.popLast() {
                        state.inUse += 1
                        return .ready(connection)
                    }
                    state.waiters.append(Waiter(id: waiterID, continuation: continuation, deadline: deadline))
                    return .queued(waiting: state.waiters.count)
                }
                switch outcome {
                case .ready(let connection):
                    recordUsage()
                    continuation.resume(returning: connection)
                case .shutDown:
                    continuation.resume(throwing: PostgresError(.poolShutdown, "database pool is shut down"))
                case .queued(let waiting):
                    waitingGauge.record(waiting)
                }
            }
        } onCancel: {
            _ = failWaiter(waiterID, with: CancellationError())
        }
    }

    /// Fails the waiters whose acquire timeout has passed. Runs on the pool's one repeating
    /// timer instead of a timer per waiter (a task and a dispatch timer each): under load most
    /// requests wait here a moment (64 concurrent requests, 8 connections in `make bench`).
    private func expireWaiters() {
        let now = NIODeadline.now()
        let expired = state.withLockedValue { state -> [Waiter] in
            let expired = state.waiters.filter { $0.deadline <= now }
            guard !expired.isEmpty else { return [] }
            state.waiters.removeAll { $0.deadline <= now }
            return expired
        }
        guard !expired.isEmpty else { return }
        waitingGauge.record(usage.waiting)
        let message = "no database connection free within \(settings.acquireTimeout) (pool size \(settings.size))"
        for waiter in expired {
            timeoutCounter.increment()
            waiter.continuation.resume(throwing: PostgresError(.poolTimeout, message))
        }
        logger.warning("database pool exhausted", metadata: ["timeout": "\(settings.acquireTimeout)", "failed": "\(expired.count)"])
    }

    /// Removes a waiter still in the queue and fails it; false when it was served meanwhile.
    private func failWaiter(_ id: UInt64, with error: any Error) -> Bool {
        let waiter = state.withLockedValue { state -> Waiter? in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters.remove(at: index)
        }
        guard let waiter else { return false }
        waitingGauge.record(usage.waiting)
        waiter.continuation.resume(throwing: error)
        return true
    }

    private func release(_ connection: PostgresConnection) {
        if connection.isInTransaction {
            // Only a bug or a broken socket leaves a transaction open; never hand it on.
            connection.close()
        }
        enum Next { case handOver(Waiter), keepIdle, close }
        let next = state.withLockedValue { state -> Next in
            if !state.isShutDown, !state.waiters.isEmpty {
                return .handOver(state.waiters.removeFirst())
            }
            state.inUse -= 1
            if state.isShutDown { return .close }
            state.idle.append(connection)
            return .keepIdle
        }
        switch next {
        case .handOver(let waiter):
            waiter.continuation.resume(returning: connection)
        case .close:
            connection.close()
        case .keepIdle:
            break
        }
        recordUsage()
    }

    private func recordUsage() {
        let (inUse, waiting) = usage
        inUseGauge.record(inUse)
        waitingGauge.record(waiting)
    }
}
