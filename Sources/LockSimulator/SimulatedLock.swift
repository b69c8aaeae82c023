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
        /// PIN codes programmed onto the keypad, by access code id.
        public var codes: [String: KeypadCode] = [:]
    }

    public struct KeypadCode: Sendable, Codable {
        public var code: String
        public var startsAt: Date?
        public var endsAt: Date?

        func accepts(_ pin: String, at now: Date) -> Bool {
            code == pin && (startsAt.map { $0 <= now } ?? true) && (endsAt.map { now < $0 } ?? true)
        }
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
        case "program_code":
            guard let id = command.payload["access_code_id"], let code = command.payload["code"],
                code.count >= 4, code.count <= 12, code.allSatisfy(\.isNumber)
            else {
                try await client.result(commandID: command.id, success: false, errorCode: "INVALID_CODE", lockState: nil)
                return
            }
            let window = KeypadCode(
                code: code, startsAt: command.payload["starts_at"].flatMap { try? Date($0, strategy: .iso8601) },
                endsAt: command.payload["ends_at"].flatMap { try? Date($0, strategy: .iso8601) })
            update {
                $0.codes[id] = window
                $0.commandsCarriedOut += 1
            }
            try await client.result(commandID: command.id, success: true, errorCode: nil, lockState: nil)
        case "remove_code":
            update {
                if let id = command.payload["access_code_id"] { $0.codes[id] = nil }
                $0.commandsCarriedOut += 1
            }
            try await client.result(commandID: command.id, success: true, errorCode: nil, lockState: nil)
        default:
            try await client.result(commandID: command.id, success: false, errorCode: "UNSUPPORTED_COMMAND", lockState: nil)
        }
    }

    /// A person types `pin` on the keypad: the lock unlocks for a code inside its window and
    /// reports `access_code.used`, or reports `access_code.incorrect_attempt`.
    public func typePIN(_ pin: String, now: Date = Date()) async throws -> Bool {
        let match = snapshot.codes.first { $0.value.accepts(pin, at: now) }?.key
        if let match {
            update { $0.lockState = "unlocked" }
            try await client.event(["type": "access_code.used", "access_code_id": match])
            return true
        }
        try await client.event(["type": "access_code.incorrect_attempt"])
        return false
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
