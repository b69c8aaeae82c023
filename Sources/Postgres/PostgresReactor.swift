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
/// one wake-up, and a connection closed meanwhile simply drops out of the epoll set.
final class PostgresReactor: Sendable {
    private struct Waiter {
        let connection: PostgresConnection
        let continuation: CheckedContinuation<PostgresResult, any Error>
    }

    private struct State {
        var waiters: [Int32: Waiter] = [:]
        var isStopped = false
        var answered = 0
    }

    private let epoll: Int32
    /// A pipe whose read end is in the epoll set: writing a byte stops the thread.
    private let stopPipe: (read: Int32, write: Int32)
    private let state = NIOLockedValueBox(State())

    init() {
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        precondition(epoll >= 0, "epoll_create1 failed: errno \(errno)")
        var fds: [Int32] = [-1, -1]
        precondition(pipe(&fds) == 0, "pipe failed: errno \(errno)")
        stopPipe = (fds[0], fds[1])
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.fd = stopPipe.read
        precondition(epoll_ctl(epoll, EPOLL_CTL_ADD, stopPipe.read, &event) == 0, "epoll_ctl failed: errno \(errno)")
        let thread = Thread { [self] in run() }
        thread.name = "PG-reactor"
        thread.start()
    }

    /// Waits for the answer to the statement just sent on `connection` (whose socket is
    /// `socket`). The connection stays checked out by the caller meanwhile.
    func result(of connection: PostgresConnection, socket: Int32) async throws -> PostgresResult {
        try await withCheckedThrowingContinuation { continuation in
            let accepted = state.withLockedValue { state -> Bool in
                guard !state.isStopped else { return false }
                state.waiters[socket] = Waiter(connection: connection, continuation: continuation)
                return true
            }
            guard accepted else {
                continuation.resume(throwing: PostgresError(.poolShutdown, "database pool is shut down"))
                return
            }
            if !arm(socket) {
                let message = "could not watch the database socket: errno \(errno)"
                if let waiter = state.withLockedValue({ $0.waiters.removeValue(forKey: socket) }) {
                    waiter.continuation.resume(throwing: PostgresError(.connectionLost, message))
                }
            }
        }
    }

    /// Statements answered (or failed) through the reactor so far; for tests.
    var answered: Int { state.withLockedValue { $0.answered } }

    /// Stops the thread; statements still awaited fail with `.poolShutdown`.
    func stop() {
        let alreadyStopped = state.withLockedValue { state -> Bool in
            defer { state.isStopped = true }
            return state.isStopped
        }
        guard !alreadyStopped else { return }
        var byte: UInt8 = 1
        _ = write(stopPipe.write, &byte, 1)
    }

    /// Watches `socket` for one readable event. MOD when the socket is still in the set from an
    /// earlier statement, ADD when it is new (a new connection, possibly reusing a number).
    private func arm(_ socket: Int32) -> Bool {
        var event = epoll_event()
        event.events = EPOLLIN.rawValue | EPOLLONESHOT.rawValue
        event.data.fd = socket
        if epoll_ctl(epoll, EPOLL_CTL_MOD, socket, &event) == 0 { return true }
        return errno == ENOENT && epoll_ctl(epoll, EPOLL_CTL_ADD, socket, &event) == 0
    }

    private func run() {
        var events = [epoll_event](repeating: epoll_event(), count: 64)
        loop: while true {
            let count = epoll_wait(epoll, &events, Int32(events.count), -1)
            if count < 0 {
                if errno == EINTR { continue }
                break
            }
            for event in events.prefix(Int(count)) {
                let socket = event.data.fd
                if socket == stopPipe.read { break loop }
                guard let waiter = state.withLockedValue({ $0.waiters[socket] }) else { continue }
                let outcome: Result<PostgresResult, any Error>
                do {
                    guard let result = try waiter.connection.receiveWithoutBlocking() else {
                        // Part of the answer; wait for the rest.
                        if arm(socket) { continue }
                        throw PostgresError(.connectionLost, "could not watch the database socket: errno \(errno)")
                    }
                    outcome = .success(result)
                } catch {
                    outcome = .failure(error)
                }
                state.withLockedValue { state in
                    state.waiters.removeValue(forKey: socket)
                    state.answered += 1
                }
                waiter.continuation.resume(with: outcome)
            }
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
        close(stopPipe.read)
        close(stopPipe.write)
    }
}
