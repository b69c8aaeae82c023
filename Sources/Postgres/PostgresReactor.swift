import CEpoll
import Foundation
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#endif

/// Collects the answers of statements sent without blocking (`PostgresConnection.sendPrepared`)
/// for all of a pool's connections, on one thread waiting in `epoll`.
///
/// Why: a blocking query hands the request from Swift's cooperative pool to a connection's
/// thread, which sleeps in libpq until PostgreSQL answers, and back: two thread wake-ups per
/// statement on top of the socket's own. Profiles of `make bench` showed the kernel's thread
/// switching as the largest single cost of a request. Here the caller writes the statement
/// itself, and one thread, usually already awake under load, reads every answer.
///
/// Each socket is armed once per statement (`EPOLLONESHOT`), so an answer is read by exactly
/// one wake-up, and a connection closed meanwhile simply drops out of the epoll set. Events and
/// waiters carry the connection's `id`, never the socket's number: a number freed by `close()`
/// can belong to a new connection before an old waiter is gone.
///
/// Deadlines and task cancellation are handled on this thread too, so only it ever touches a
/// waiting connection: it sends `PQcancel` (from a dispatch queue, since that blocks) and, when
/// no answer comes within the grace, closes the connection and fails the statement.
final class PostgresReactor: Sendable {
    private struct Waiter {
        let connection: PostgresConnection
        let socket: Int32
        let continuation: CheckedContinuation<PostgresResult, any Error>
        let deadline: ContinuousClock.Instant?
        var cancelRequested: Bool
        var interruption: PostgresConnection.Interruption?
        var graceEnd: ContinuousClock.Instant?
    }

    private struct State {
        var waiters: [UInt64: Waiter] = [:]
        var isStopped = false
        var answered = 0
        /// When the thread's `epoll_wait` times out; nil while it sleeps until an event.
        var sleepsUntil: ContinuousClock.Instant?
    }

    private let epoll: Int32
    /// A pipe whose read end is in the epoll set: a byte wakes the thread (to stop, or to look
    /// at a cancellation).
    private let wakePipe: (read: Int32, write: Int32)
    private let state = NIOLockedValueBox(State())
    /// The epoll data of the wake pipe; connection ids start at 1.
    private static let wakeToken: UInt64 = 0

    init() {
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        precondition(epoll >= 0, "epoll_create1 failed: errno \(errno)")
        var fds: [Int32] = [-1, -1]
        precondition(pipe(&fds) == 0, "pipe failed: errno \(errno)")
        wakePipe = (fds[0], fds[1])
        _ = fcntl(wakePipe.read, F_SETFL, fcntl(wakePipe.read, F_GETFL) | O_NONBLOCK)
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.u64 = Self.wakeToken
        precondition(epoll_ctl(epoll, EPOLL_CTL_ADD, wakePipe.read, &event) == 0, "epoll_ctl failed: errno \(errno)")
        let thread = Thread { [self] in run() }
        thread.name = "PG-reactor"
        thread.start()
    }

    /// Waits for the answer to the statement just sent on `connection` (whose socket is
    /// `socket`), at most until the connection's `queryDeadline`. The connection stays checked
    /// out by the caller meanwhile.
    func result(of connection: PostgresConnection, socket: Int32) async throws -> PostgresResult {
        let id = connection.id
        let deadline = connection.queryDeadline.map { ContinuousClock.now + $0 }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let cancelled = Task.isCancelled
                // Wake the thread only when this deadline is earlier than its sleep (rare under
                // load: the waiters' deadlines are all about the same distance away).
                let (accepted, mustWake) = state.withLockedValue { state -> (Bool, Bool) in
                    guard !state.isStopped else { return (false, false) }
                    state.waiters[id] = Waiter(
                        connection: connection, socket: socket, continuation: continuation, deadline: deadline,
                        cancelRequested: cancelled, interruption: nil, graceEnd: nil)
                    guard let deadline else { return (true, cancelled) }
                    if let sleepsUntil = state.sleepsUntil, sleepsUntil <= deadline { return (true, cancelled) }
                    state.sleepsUntil = deadline
                    return (true, true)
                }
                guard accepted else {
                    continuation.resume(throwing: PostgresError(.poolShutdown, "database pool is shut down"))
                    return
                }
                if !arm(socket, id: id) {
                    let message = "could not watch the database socket: errno \(errno)"
                    if let waiter = state.withLockedValue({ $0.waiters.removeValue(forKey: id) }) {
                        waiter.continuation.resume(throwing: PostgresError(.connectionLost, message))
                    }
                    return
                }
                if mustWake { wake() }
            }
        } onCancel: {
            let found = state.withLockedValue { state -> Bool in
                guard state.waiters[id] != nil else { return false }
                state.waiters[id]!.cancelRequested = true
                return true
            }
            if found { wake() }
        }
    }

    /// Statements answered (or failed) through the reactor so far; for tests.
    var answered: Int { state.withLockedValue { $0.answered } }

    /// Statements whose answer is awaited right now; for tests.
    var waiting: Int { state.withLockedValue { $0.waiters.count } }

    /// Stops the thread; statements still awaited fail with `.poolShutdown`.
    func stop() {
        let alreadyStopped = state.withLockedValue { state -> Bool in
            defer { state.isStopped = true }
            return state.isStopped
        }
        guard !alreadyStopped else { return }
        wake()
    }

    private func wake() {
        var byte: UInt8 = 1
        _ = write(wakePipe.write, &byte, 1)
    }

    /// Watches `socket` for one readable event, tagged with the connection's id. MOD when the
    /// socket is still in the set from an earlier statement, ADD when it is new (a new
    /// connection, possibly reusing a number).
    private func arm(_ socket: Int32, id: UInt64) -> Bool {
        var event = epoll_event()
        event.events = EPOLLIN.rawValue | EPOLLONESHOT.rawValue
        event.data.u64 = id
        if epoll_ctl(epoll, EPOLL_CTL_MOD, socket, &event) == 0 { return true }
        return errno == ENOENT && epoll_ctl(epoll, EPOLL_CTL_ADD, socket, &event) == 0
    }

    private func run() {
        var events = [epoll_event](repeating: epoll_event(), count: 64)
        while true {
            let count = epoll_wait(epoll, &events, Int32(events.count), sleepMilliseconds())
            if count < 0, errno != EINTR { break }
            for event in events.prefix(Int(max(count, 0))) {
                let id = event.data.u64
                if id == Self.wakeToken {
                    var buffer = [UInt8](repeating: 0, count: 64)
                    while read(wakePipe.read, &buffer, buffer.count) > 0 {}
                    continue
                }
                receive(id)
            }
            if state.withLockedValue({ $0.isStopped }) { break }
            handleDeadlines()
        }
        let waiters = state.withLockedValue { state -> [Waiter] in
            state.isStopped = true
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters {
            waiter.continuation.resume(throwing: PostgresError(.poolShutdown, "database pool is shut down"))
        }
        close(epoll)
        close(wakePipe.read)
        close(wakePipe.write)
    }

    /// Reads what arrived for connection `id`'s statement; answers its caller when complete.
    private func receive(_ id: UInt64) {
        guard let waiter = state.withLockedValue({ $0.waiters[id] }) else { return }
        var outcome: Result<PostgresResult, any Error>
        do {
            guard let result = try waiter.connection.receiveWithoutBlocking() else {
                // Part of the answer; wait for the rest.
                if arm(waiter.socket, id: id) { return }
                throw PostgresError(.connectionLost, "could not watch the database socket: errno \(errno)")
            }
            outcome = .success(result)
        } catch {
            outcome = .failure(error)
        }
        // An interrupted statement usually ends with the server's answer to our cancel.
        let interruption = state.withLockedValue { state -> PostgresConnection.Interruption? in
            defer { state.answered += 1 }
            return state.waiters.removeValue(forKey: id)?.interruption
        }
        if let interruption {
            outcome = PostgresConnection.replacingCancel(outcome, with: interruption, settings: waiter.connection.settings)
        }
        waiter.continuation.resume(with: outcome)
    }

    /// How long `epoll_wait` may sleep: until the earliest deadline or grace end; -1 when none.
    private func sleepMilliseconds() -> Int32 {
        let next = state.withLockedValue { state -> ContinuousClock.Instant? in
            state.sleepsUntil = state.waiters.values.compactMap { waiter in
                waiter.cancelRequested && waiter.interruption == nil ? ContinuousClock.now : (waiter.graceEnd ?? waiter.deadline)
            }.min()
            return state.sleepsUntil
        }
        guard let next else { return -1 }
        let remaining = next - .now
        return remaining <= .zero ? 0 : Int32(min(remaining.milliseconds + 1, 60_000))
    }

    /// Cancels statements whose deadline passed or whose task was cancelled, and discards the
    /// connections that did not answer their cancel within the grace.
    private func handleDeadlines() {
        let now = ContinuousClock.now
        var toCancel: [PostgresConnection] = []
        var toDiscard: [Waiter] = []
        state.withLockedValue { state in
            for (id, waiter) in state.waiters {
                if waiter.interruption == nil {
                    let reason: PostgresConnection.Interruption?
                    if waiter.cancelRequested {
                        reason = .cancelled
                    } else if let deadline = waiter.deadline, deadline <= now {
                        reason = .deadline
                    } else {
                        reason = nil
                    }
                    guard let reason else { continue }
                    state.waiters[id]!.interruption = reason
                    state.waiters[id]!.graceEnd = now + waiter.connection.settings.cancelGrace
                    toCancel.append(waiter.connection)
                } else if let graceEnd = waiter.graceEnd, graceEnd <= now {
                    state.waiters.removeValue(forKey: id)
                    state.answered += 1
                    toDiscard.append(waiter)
                }
            }
        }
        for connection in toCancel {
            // Made here, where the connection is quiet; sent elsewhere, because it blocks.
            if let cancel = connection.makeCancel() {
                DispatchQueue.global().async { cancel.send() }
            }
        }
        for waiter in toDiscard {
            // Only when the socket is still this connection's: a number already closed and
            // reused belongs to another connection's registration.
            if waiter.connection.socket == waiter.socket {
                _ = epoll_ctl(epoll, EPOLL_CTL_DEL, waiter.socket, nil)
                waiter.connection.close()
            }
            waiter.connection.logDiscard()
            let interruption = waiter.interruption ?? .deadline
            waiter.continuation.resume(throwing: PostgresConnection.error(for: interruption, settings: waiter.connection.settings))
        }
    }
}
