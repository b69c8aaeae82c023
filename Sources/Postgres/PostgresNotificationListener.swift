import Foundation
import Logging
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#endif

/// A `NOTIFY` message: its channel, its payload, and the server process that sent it.
public struct PostgresNotification: Sendable, Equatable {
    public var channel: String
    public var payload: String
    public var senderPID: Int32
}

/// Receives PostgreSQL `NOTIFY` messages on one dedicated connection, on a thread of its own.
///
/// `LISTEN` is session state, so it cannot use the pool's connections (nor a connection through
/// a transaction-mode pooler): the settings given here name a direct connection.
///
/// Notifications sent while the connection is down are lost, which is why the handler hears
/// `.listening` after every (re)connection with a new `generation`: anything the caller
/// learned only from notifications must be refreshed then (one catch-up query). `.lost` comes
/// when a listening connection breaks; the listener retries with backoff until stopped.
public final class PostgresNotificationListener: Sendable {
    public enum Event: Sendable, Equatable {
        case listening(generation: UInt64)
        case notification(PostgresNotification)
        case lost
    }

    private struct State {
        var isStopped = false
        var isListening = false
        var generation: UInt64 = 0
        var backendPID: Int32?
    }

    private let settings: PostgresConnectionSettings
    private let channels: [String]
    private let logger: Logger
    private let handler: @Sendable (Event) -> Void
    private let state = NIOLockedValueBox(State())
    /// A byte on this pipe wakes the thread from `poll` (to stop).
    private let wakePipe: (read: Int32, write: Int32)
    private let finished = DispatchSemaphore(value: 0)

    /// The longest wait between connection attempts while the database is unreachable.
    static let maximumBackoff: Duration = .seconds(2)

    public init(
        settings: PostgresConnectionSettings, channels: [String], logger: Logger,
        handler: @escaping @Sendable (Event) -> Void
    ) {
        var settings = settings
        // Waiting is all this connection does: no statement deadline applies to it.
        settings.queryDeadline = nil
        settings.applicationName = "lockcloud-listener"
        self.settings = settings
        self.channels = channels
        self.logger = logger
        self.handler = handler
        var fds: [Int32] = [-1, -1]
        precondition(pipe(&fds) == 0, "pipe failed: errno \(errno)")
        wakePipe = (fds[0], fds[1])
    }

    deinit {
        Glibc.close(wakePipe.read)
        Glibc.close(wakePipe.write)
    }

    /// True while the connection is up and listening to every channel.
    public var isListening: Bool { state.withLockedValue { $0.isListening } }

    /// Counts (re)connections; a value seen while listening stays current until the next loss.
    public var generation: UInt64 { state.withLockedValue { $0.generation } }

    /// The current generation while listening, nil while not: what notifications taught the
    /// caller holds only under the generation it was learned in.
    public var listeningGeneration: UInt64? { state.withLockedValue { $0.isListening ? $0.generation : nil } }

    /// The listening session's server process id (for operators and tests), nil when down.
    public var backendPID: Int32? { state.withLockedValue { $0.backendPID } }

    public func start() {
        let thread = Thread { [self] in
            run()
            finished.signal()
        }
        thread.name = "PG-listener"
        thread.start()
    }

    /// Stops listening and waits for the thread to end (at most one connection attempt's time).
    public func stop() async {
        let alreadyStopped = state.withLockedValue { state -> Bool in
            defer { state.isStopped = true }
            return state.isStopped
        }
        guard !alreadyStopped else { return }
        var byte: UInt8 = 1
        _ = write(wakePipe.write, &byte, 1)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                self.finished.wait()
                continuation.resume()
            }
        }
    }

    private var isStopped: Bool { state.withLockedValue { $0.isStopped } }

    private func run() {
        var backoff: Duration = .milliseconds(100)
        while !isStopped {
            do {
                try listenUntilLost()
                backoff = .milliseconds(100)
            } catch {
                let wasListening = state.withLockedValue { state -> Bool in
                    defer { state.isListening = false; state.backendPID = nil }
                    return state.isListening
                }
                if wasListening {
                    logger.warning("database notifications lost; reconnecting", metadata: ["error": "\(error)"])
                    handler(.lost)
                    backoff = .milliseconds(100)
                } else if !isStopped {
                    logger.info("database notifications: cannot connect yet", metadata: ["error": "\(error)"])
                }
                if waitForStop(upTo: backoff) { break }
                backoff = min(backoff * 2, Self.maximumBackoff)
            }
        }
        state.withLockedValue { $0.isListening = false; $0.backendPID = nil }
    }

    /// One connection's life: connect, listen, hand over notifications until it breaks (throws)
    /// or the listener stops (returns).
    private func listenUntilLost() throws {
        let connection = try PostgresConnection.connect(settings, logger: logger)
        defer { connection.close() }
        for channel in channels {
            try connection.executeScript("LISTEN " + Self.quotedIdentifier(channel))
        }
        let pid = try connection.query("SELECT pg_backend_pid()").rows.first.map { Int32(try $0.decode(Int.self, at: 0)) }
        let generation = state.withLockedValue { state -> UInt64 in
            state.generation += 1
            state.isListening = true
            state.backendPID = pid
            return state.generation
        }
        logger.debug("listening for database notifications", metadata: ["channels": "\(channels)"])
        handler(.listening(generation: generation))
        while true {
            var descriptors = [
                pollfd(fd: connection.socketDescriptor, events: Int16(POLLIN), revents: 0),
                pollfd(fd: wakePipe.read, events: Int16(POLLIN), revents: 0),
            ]
            let ready = poll(&descriptors, 2, -1)
            if ready < 0, errno == EINTR { continue }
            if isStopped { return }
            guard descriptors[0].revents != 0 else { continue }
            // Readable: notifications, or the end of the connection (which throws).
            for notification in try connection.receiveNotifications() {
                handler(.notification(notification))
            }
        }
    }

    /// Sleeps for `duration` unless the listener is stopped first; true when stopped.
    private func waitForStop(upTo duration: Duration) -> Bool {
        if isStopped { return true }
        var descriptor = pollfd(fd: wakePipe.read, events: Int16(POLLIN), revents: 0)
        _ = poll(&descriptor, 1, Int32(duration.milliseconds))
        return isStopped
    }

    static func quotedIdentifier(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
