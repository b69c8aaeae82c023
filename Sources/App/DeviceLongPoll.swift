import Foundation
import Locks

/// One long poll's place among the waiting locks (`DeviceCommandWaiters`), from its first look
/// at the queue until it answers.
///
/// The route looks once while the request is in the middleware chain (so a credential or
/// database error still gets its error answer); when there is nothing yet, it answers 200 at
/// once and the wait happens while the body is written (`DeviceGatewayRoutes.commands`). That
/// wait then holds only this object and a few shallow frames, not the whole chain: 10,000
/// waiting locks are the gateway's normal state (issue 17's 300 MB). The ticket is given back
/// when the last reference goes, so a body that is never written (the lock hung up) leaks nothing.
final class DeviceLongPoll: Sendable {
    private let ticket: DeviceCommandWaiters.Ticket
    private let notifications: DeviceCommandNotifications
    private let gateway: DeviceGatewayStore
    private var waiters: DeviceCommandWaiters { notifications.waiters }

    init(lockID: UUID, notifications: DeviceCommandNotifications, gateway: DeviceGatewayStore) {
        self.notifications = notifications
        self.gateway = gateway
        ticket = notifications.waiters.register(lockID: lockID)
    }

    deinit { notifications.waiters.withdraw(ticket) }

    /// Whether waiting can still bring something (not past the deadline, not shutting down).
    func mayWait(until deadline: ContinuousClock.Instant) -> Bool {
        ContinuousClock.now < deadline && !Task.isCancelled && !waiters.isShutDown
    }

    /// The lock's due commands now. Asks the database only when it may have something: not
    /// when the last look found the queue empty and no notification came since.
    func look() async throws -> [DeviceCommand] {
        let generation = notifications.listeningGeneration
        waiters.rearm(ticket)
        guard !waiters.isKnownEmpty(ticket.lockID, generation: generation) else { return [] }
        let commands = try await gateway.takeCommands(lockID: ticket.lockID)
        if commands.isEmpty { waiters.markEmpty(ticket, generation: generation) }
        return commands
    }

    /// Waits for a wake-up and looks again, until there are commands or `deadline` passes.
    /// Each look runs in a child task, so its database frames are not kept by the connection.
    func commands(until deadline: ContinuousClock.Instant) async throws -> [DeviceCommand] {
        while mayWait(until: deadline) {
            // Without notifications, look again now and then instead of trusting a wake-up.
            let wakeUpBy =
                notifications.listeningGeneration == nil
                ? min(deadline, .now + DeviceCommandNotifications.fallbackPollInterval) : deadline
            _ = await waiters.wait(ticket, until: wakeUpBy)
            let commands = try await inChildTask { try await self.look() }
            if !commands.isEmpty { return commands }
        }
        return []
    }
}
