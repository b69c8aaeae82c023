import Foundation
import Locks
import Logging
import Metrics
import Postgres
import ServiceLifecycle

/// Wake-ups for the locks waiting in a long poll on this instance, without polling the
/// database: one `LISTEN` connection per instance (migration 0022's triggers `NOTIFY` when a
/// command is created, on any instance, and when a lock's credential is revoked), in-process
/// waiters (`DeviceCommandWaiters`) and the credential cache (`DeviceCredentialCache`).
///
/// After the listening connection is lost and back, one catch-up query finds the locks with
/// commands due, and those waiting here are woken: nothing created meanwhile is missed. While
/// it is down, new long polls fall back to querying every `fallbackPollInterval`.
///
/// A delivered command without a result is due again after `DeviceGatewayStore.redeliverySeconds`;
/// no notification says so, so the same query runs every `redeliverySweepInterval` (one
/// statement per instance, whatever the number of locks).
final class DeviceCommandNotifications: Service, Sendable {
    static let commandsChannel = "lockcloud_device_commands"
    static let credentialsChannel = "lockcloud_lock_credentials"
    /// How late a wait past its deadline may answer. Short, so that a fleet's polls end a few
    /// at a time: at 250 ms, 10,000 locks ending 25 s polls answered in bursts of ~100, each
    /// holding both cooperative threads for some 20 ms, and the API's p99 rose 4.7x with the
    /// fleet (issue 17). Each pass only looks at the top of a heap.
    static let expiryInterval: Duration = .milliseconds(20)
    static let redeliverySweepInterval: Duration = .seconds(5)
    static let fallbackPollInterval: Duration = .seconds(2)

    let waiters: DeviceCommandWaiters
    let credentials: DeviceCredentialCache
    private let gateway: DeviceGatewayStore
    private let listener: PostgresNotificationListener
    private let logger: Logger

    init(gateway: DeviceGatewayStore, settings: PostgresConnectionSettings, logger: Logger) {
        let waiters = DeviceCommandWaiters()
        let credentials = DeviceCredentialCache()
        self.waiters = waiters
        self.credentials = credentials
        self.gateway = gateway
        self.logger = logger
        listener = PostgresNotificationListener(
            settings: settings, channels: [Self.commandsChannel, Self.credentialsChannel], logger: logger
        ) { event in
            switch event {
            case .notification(let notification):
                guard let lockID = UUID(uuidString: notification.payload) else { return }
                if notification.channel == Self.commandsChannel {
                    waiters.wake(lockID: lockID)
                } else {
                    credentials.revoke(lockID: lockID)
                }
            case .lost:
                credentials.clear()
                waiters.forgetKnownEmpty()
            case .listening:
                credentials.clear()
                waiters.forgetKnownEmpty()
                Task { await Self.wakeLocksWithDueCommands(gateway: gateway, waiters: waiters, logger: logger) }
            }
        }
    }

    /// The listener's generation while it listens; nil while it does not (then nothing learned
    /// from notifications may be trusted).
    var listeningGeneration: UInt64? { listener.listeningGeneration }

    /// The listening connection's server process (tests end it to check recovery).
    var listenerBackendPID: Int32? { listener.backendPID }

    func run() async throws {
        listener.start()
        // Locks suspended in a long poll here, read at each expiry pass (at most 20 ms old)
        // rather than counted on every wait and wake.
        let waitingGauge = Gauge(label: "lockcloud_device_long_polls_waiting")
        await cancelWhenGracefulShutdown {
            var lastSweep = ContinuousClock.now
            while !Task.isCancelled {
                try? await Task.sleep(for: Self.expiryInterval)
                self.waiters.expire()
                waitingGauge.record(self.waiters.waitingCount)
                if self.listener.isListening, ContinuousClock.now - lastSweep >= Self.redeliverySweepInterval {
                    lastSweep = .now
                    await Self.wakeLocksWithDueCommands(gateway: self.gateway, waiters: self.waiters, logger: self.logger)
                }
            }
        }
        waiters.shutDown()
        await listener.stop()
    }

    private static func wakeLocksWithDueCommands(gateway: DeviceGatewayStore, waiters: DeviceCommandWaiters, logger: Logger) async {
        do {
            for lockID in try await gateway.locksWithDueCommands() { waiters.wake(lockID: lockID) }
        } catch {
            logger.warning("could not look for due device commands", metadata: ["error": "\(error)"])
        }
    }
}
