import Foundation
import Logging
import NIOConcurrencyHelpers

/// One simulated lock: it heartbeats, long-polls for commands and carries them out after a
/// motor delay, drains its battery, and can be told to drop off the network or to jam.
public final class SimulatedLock: Sendable {
    public struct State: Sendable, Codable {
        public var lockState = "locked"
        public var doorState = "closed"
        public var batteryLevel = 100.0
        public var offline = false
        public var jammed = false
        public var commandsCarriedOut = 0
    }

    public let lockID: String
    let client: GatewayClient
    let timing: SimulatorTiming
    let logger: Logger
    private let state = NIOLockedValueBox(State())

    init(lockID: String, client: GatewayClient, timing: SimulatorTiming, logger: Logger) {
        self.lockID = lockID
        self.client = client
        self.timing = timing
        self.logger = logger
    }

    public var snapshot: State { state.withLockedValue { $0 } }

    public func update(_ change: @Sendable (inout State) -> Void) {
        state.withLockedValue(change)
    }

    /// Runs until cancelled: a heartbeat loop and a command loop, side by side.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.heartbeats() }
            group.addTask { await self.commandLoop() }
        }
    }

    private func heartbeats() async {
        while !Task.isCancelled {
            let current = snapshot
            if !current.offline {
                do {
                    try await client.heartbeat(
                        batteryLevel: Int(current.batteryLevel.rounded(.down)), lockState: current.lockState,
                        doorState: current.doorState, signalQuality: 80)
                } catch {
                    logger.debug("heartbeat failed", metadata: ["lock": "\(lockID)", "error": "\(error)"])
                }
                update { $0.batteryLevel = max(0, $0.batteryLevel - timing.batteryDrainPerHeartbeat) }
            }
            try? await Task.sleep(for: timing.heartbeatInterval)
        }
    }

    private func commandLoop() async {
        while !Task.isCancelled {
            guard !snapshot.offline else {
                try? await Task.sleep(for: .milliseconds(200))
                continue
            }
            do {
                for command in try await client.commands(wait: timing.pollWaitSeconds) {
                    guard !snapshot.offline else { break }  // a lock that dropped off answers nothing
                    try await carryOut(command)
                }
            } catch {
                logger.debug("command poll failed", metadata: ["lock": "\(lockID)", "error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    private func carryOut(_ command: GatewayClient.Command) async throws {
        try await Task.sleep(for: timing.motorDelay)
        switch command.type {
        case "lock", "unlock":
            if snapshot.jammed {
                try await client.result(commandID: command.id, success: false, errorCode: "LOCK_JAMMED", lockState: nil)
                return
            }
            let target = command.type == "lock" ? "locked" : "unlocked"
            update {
                $0.lockState = target
                $0.commandsCarriedOut += 1
            }
            try await client.result(commandID: command.id, success: true, errorCode: nil, lockState: target)
        default:
            // Keypad programming arrives with the access code work; acknowledge for now.
            update { $0.commandsCarriedOut += 1 }
            try await client.result(commandID: command.id, success: true, errorCode: nil, lockState: nil)
        }
    }
}

public struct SimulatorTiming: Sendable {
    public var heartbeatInterval: Duration
    public var motorDelay: Duration
    public var pollWaitSeconds: Int
    public var batteryDrainPerHeartbeat: Double

    public init(
        heartbeatInterval: Duration = .seconds(5), motorDelay: Duration = .milliseconds(400), pollWaitSeconds: Int = 20,
        batteryDrainPerHeartbeat: Double = 0.01
    ) {
        self.heartbeatInterval = heartbeatInterval
        self.motorDelay = motorDelay
        self.pollWaitSeconds = pollWaitSeconds
        self.batteryDrainPerHeartbeat = batteryDrainPerHeartbeat
    }
}
