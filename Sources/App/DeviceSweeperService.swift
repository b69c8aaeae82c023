import Locks
import Logging
import ServiceLifecycle

/// Once a second: fails actions the lock did not answer in time, marks silent locks offline and
/// queues removal of codes past their `ends_at`.
/// Both are single statements that claim their rows, so every instance may run this.
struct DeviceSweeperService: Service {
    let actions: ActionStore
    let gateway: DeviceGatewayStore
    let accessCodes: AccessCodeStore
    let actionTimeoutSeconds: Int
    let heartbeatTimeoutSeconds: Int
    let logger: Logger

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await actions.failTimedOut(timeoutSeconds: actionTimeoutSeconds)
                try await gateway.markSilentLocksOffline(afterSeconds: heartbeatTimeoutSeconds)
                try await accessCodes.removeExpired()
            } catch {
                logger.warning("device sweep failed; retrying", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }
}
