import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// Whether this instance is draining before it stops: `/health` then answers 503 so load
/// balancers take it out of rotation, while it still serves every request it receives.
public final class ShutdownState: Sendable {
    private let draining = NIOLockedValueBox(false)
    private let stoppingActions = NIOLockedValueBox<[@Sendable () -> Void]?>([])

    public init() {}

    public var isDraining: Bool { draining.withLockedValue { $0 } }

    func startDraining() { draining.withLockedValue { $0 = true } }

    /// Runs `action` when the drain is over and the HTTP server is about to stop (at once if it
    /// already is): work that holds requests open on purpose, such as long polls, answers then,
    /// so the server's wait for in-flight requests is short.
    func whenStopping(_ action: @escaping @Sendable () -> Void) {
        let registered = stoppingActions.withLockedValue { actions -> Bool in
            guard actions != nil else { return false }
            actions!.append(action)
            return true
        }
        if !registered { action() }
    }

    func stopping() {
        let actions = stoppingActions.withLockedValue { actions in
            defer { actions = nil }
            return actions ?? []
        }
        actions.forEach { $0() }
    }
}

/// The first service to hear of a graceful shutdown (run it last in the group): it marks the
/// instance draining and waits `seconds` before the HTTP server is told to stop accepting.
/// Without the wait, a balancer still sending traffic would see connections refused or reset
/// while it notices; with it, nothing sent before the balancer noticed is lost.
public struct ShutdownDrainService: Service {
    let state: ShutdownState
    let seconds: Int
    let logger: Logger

    public init(state: ShutdownState, seconds: Int, logger: Logger) {
        self.state = state
        self.seconds = seconds
        self.logger = logger
    }

    public func run() async throws {
        try? await gracefulShutdown()
        state.startDraining()
        defer { state.stopping() }
        guard seconds > 0 else { return }
        logger.info("draining before shutdown", metadata: ["seconds": "\(seconds)"])
        try? await Task.sleep(for: .seconds(seconds))
    }
}
