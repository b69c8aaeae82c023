import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// Whether this instance is draining before it stops: `/health` then answers 503 so load
/// balancers take it out of rotation, while it still serves every request it receives.
public final class ShutdownState: Sendable {
    private let draining = NIOLockedValueBox(false)

    public init() {}

    public var isDraining: Bool { draining.withLockedValue { $0 } }

    func startDraining() { draining.withLockedValue { $0 = true } }
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
        guard seconds > 0 else { return }
        logger.info("draining before shutdown", metadata: ["seconds": "\(seconds)"])
        try? await Task.sleep(for: .seconds(seconds))
    }
}
