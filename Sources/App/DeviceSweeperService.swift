import Locks
import Logging
import ServiceLifecycle

/// Once a second: fails actions the lock did not answer in time and marks silent locks offline.
/// Both are single statements that claim their rows, so every instance may run this.
struct DeviceSweeperService: Service {
    let actions: ActionStore
    let gateway: DeviceGatewayStore
    let actionTimeoutSeconds: Int
    let heartbeatTimeoutSeconds: Int
    let logger: Logger

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await actions.failTimedOut(timeoutSeconds: actionTimeoutSeconds)
                try await gateway.markSilentLocksOffline(afterSeconds: heartbeatTimeoutSeconds)
            } catch {
                logger.warning("device sweep failed; retrying", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }
}
