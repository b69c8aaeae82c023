import Crypto
import Foundation
import Logging
import NIOConcurrencyHelpers
import OfflinePIN

/// One simulated lock: it heartbeats, long-polls for commands and carries them out after a
/// motor delay, drains its battery, and can be told to drop off the network or to jam. Its
/// keypad checks online codes it was given and offline PINs with the `OfflinePIN` verifier, by
/// its own clock and with no call to the server; what happened at the door is reported when
/// the lock next reaches the gateway.
public final class SimulatedLock: Sendable {
    public struct State: Sendable, Codable {
        public var lockState = "locked"
        public var doorState = "closed"
        public var batteryLevel = 100.0
        public var offline = false
        public var jammed = false
        /// The reason a jammed lock gives for not moving its bolt (`LOCK_JAMMED` when unset).
        public var jamReason: String?
        public var commandsCarriedOut = 0
        /// PIN codes programmed onto the keypad, by access code id.
        public var codes: [String: KeypadCode] = [:]
        /// The lock's clock runs this many seconds ahead of real time (set through the control API).
        public var clockOffsetSeconds = 0.0
        /// Offline PINs: the oldest key version searched (nil before provisioning or without
        /// offline support), and how many codes the lock has activated.
        public var offlineKeyVersion: Int?
        public var activatedOfflineCodes = 0
        /// Events waiting for the gateway (the lock is offline, or the gateway did not answer).
        public var unsentEvents = 0
        /// Refused PINs and lockouts of the keypad, whatever the model (online codes too).
        public var keypad = KeypadFailureBudget()
        /// The latest keypad time used (seconds since the scheme epoch): setting the clock back
        /// never moves the keypad's time back.
        public var timeFloor: Int64?
        /// The real-time clock lost power in a simulated power cycle and was not set since.
        public var clockUnset = false
        /// The next this many program or remove commands for codes are refused with
        /// `refusalErrorCode` (control `refuse_codes`: a keypad full, a code the lock will not drop).
        public var refuseCodes = 0
        public var refusalErrorCode = "KEYPAD_FULL"
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
    private let verifier = NIOLockedValueBox<OfflineLockVerifier?>(nil)
    /// The verifier's persistent state as last written (the lock's non-volatile memory).
    private let flash = NIOLockedValueBox<Data?>(nil)
    private let outbox = NIOLockedValueBox<[[String: any Sendable]]>([])
    private let flushing = NIOLockedValueBox(false)
    /// Heartbeats and the reports that change the lock's state go out one at a time, in order.
    private let uplink = UplinkOrder()

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

    /// The lock's own clock.
    public var now: Date { Date().addingTimeInterval(snapshot.clockOffsetSeconds) }

    private func heartbeats() async {
        var provisioned = false
        while !Task.isCancelled {
            if !snapshot.offline {
                do {
                    if !provisioned { provisioned = try await provisionOfflineKey() }
                    // The state is read in turn, right before it is sent (`UplinkOrder` says why).
                    let (floor, serverTime) = try await uplink.inOrder {
                        await flushEvents()
                        let current = snapshot
                        return try await client.heartbeat(
                            batteryLevel: Int(current.batteryLevel.rounded(.down)), lockState: current.lockState,
                            doorState: current.doorState, signalQuality: 80, deviceTime: now,
                            offlineKeyVersion: current.offlineKeyVersion)
                    }
                    if let serverTime { gatewayTime(serverTime) }
                    if let floor, let version = UInt16(exactly: floor) { changeVerifier { $0.advance(toVersion: version) } }
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
        if ["program_code", "remove_code"].contains(command.type), takeRefusal() != nil {
            try await client.result(commandID: command.id, success: false, errorCode: snapshot.refusalErrorCode, lockState: nil)
            return
        }
        switch command.type {
        case "lock", "unlock":
            if snapshot.jammed {
                try await client.result(
                    commandID: command.id, success: false, errorCode: snapshot.jamReason ?? "LOCK_JAMMED", lockState: nil)
                return
            }
            let target = command.type == "lock" ? "locked" : "unlocked"
            try await uplink.inOrder {
                update {
                    $0.lockState = target
                    $0.commandsCarriedOut += 1
                }
                try await client.result(commandID: command.id, success: true, errorCode: nil, lockState: target)
            }
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

    /// Uses up one of the refusals asked for through the control API; nil when none is left.
    private func takeRefusal() -> Int? {
        state.withLockedValue { state -> Int? in
            guard state.refuseCodes > 0 else { return nil }
            state.refuseCodes -= 1
            return state.refuseCodes
        }
    }

    // MARK: - Offline PINs and the keypad

    /// Fetches the lock's offline key once (a real lock gets it at pairing). True when done,
    /// including for models without offline PINs.
    private func provisionOfflineKey() async throws -> Bool {
        guard let offlineKey = try await client.offlineKey() else { return true }
        guard let version = UInt16(exactly: offlineKey.version) else { return true }
        verifier.withLockedValue {
            $0 = OfflineLockVerifier(key: SymmetricKey(data: offlineKey.key), keyVersion: version, digits: offlineKey.digits)
        }
        changeVerifier { _ in }
        return true
    }

    /// Changes the verifier (if the lock has one), writes its state to the simulated flash (a
    /// real lock does so before the door opens), and mirrors its counters into the state.
    private func changeVerifier<T>(_ change: (inout OfflineLockVerifier) -> T) -> T? {
        let (result, version, activated) = verifier.withLockedValue { box -> (T?, Int?, Int) in
            guard var current = box else { return (nil, nil, 0) }
            let result = change(&current)
            box = current
            flash.withLockedValue { $0 = try? JSONEncoder().encode(current.state) }
            return (result, Int(current.keyVersion), current.activated.count)
        }
        update {
            $0.offlineKeyVersion = version
            $0.activatedOfflineCodes = activated
        }
        return result
    }

    /// A simulated power cycle: everything kept in RAM only is dropped and the verifier starts
    /// again from what was written to flash. With `rtcLost` the real-time clock lost power too:
    /// it reads 2000-01-01 and counts as unset until the gateway sets it.
    public func powerCycle(rtcLost: Bool) {
        let saved = flash.withLockedValue { $0 }
        verifier.withLockedValue { box in
            box = saved.flatMap { try? JSONDecoder().decode(OfflineLockVerifier.State.self, from: $0) }
                .map(OfflineLockVerifier.init(state:))
            if rtcLost { box?.clockLost() }
        }
        if rtcLost {
            update {
                $0.clockUnset = true
                $0.clockOffsetSeconds = Date(timeIntervalSince1970: 946_684_800).timeIntervalSinceNow
            }
        }
        changeVerifier { _ in }
    }

    /// The gateway's time from a heartbeat answer: a lock whose clock is unset takes it.
    private func gatewayTime(_ serverTime: Date) {
        guard snapshot.clockUnset else { return }
        update {
            $0.clockUnset = false
            $0.clockOffsetSeconds = 0
        }
        changeVerifier { $0.clockSet(to: serverTime) }
    }

    /// What the keypad did with a typed PIN.
    public enum KeypadOutcome: String, Sendable, Codable {
        case unlocked, erased, rejected, lockedOut = "locked_out"
    }

    /// A person types `pin` on the keypad. The keypad's failure budget comes first, for every
    /// model (scheme section 5.2): while it is locked out no online code is compared and only
    /// offline codes already activated open, by exact match, one PIN a minute. Otherwise an
    /// online code inside its window or an offline PIN the verifier accepts unlocks the door
    /// (`access_code.used`); an erase code retires the offline codes issued before it; anything
    /// else is `access_code.incorrect_attempt`, and a refusal that starts a lockout is also
    /// reported as `lock.keypad_locked_out`.
    public func typePIN(_ pin: String) async -> KeypadOutcome {
        let t = keypadTime()
        let at = OfflinePINScheme.epoch.addingTimeInterval(Double(t))
        let outcome: KeypadOutcome
        var event: [String: any Sendable] = ["occurred_at": at.formatted(.iso8601)]
        var budget = snapshot.keypad
        let mode = budget.mode(at: t)
        let decided: OfflineLockVerifier.Outcome?
        switch mode {
        case .ignore:
            decided = .rejected(.lockedOut)
        case .exactMatchOnly:
            decided = changeVerifier { $0.enterActivatedOnly(pin, at: at) } ?? .rejected(.lockedOut)
        case .search:
            if let match = snapshot.codes.first(where: { $0.value.accepts(pin, at: at) })?.key {
                event["access_code_id"] = match
                decided = nil
            } else {
                decided = changeVerifier { $0.enter(pin, at: at) } ?? .rejected(.noMatch)
            }
        }
        switch decided {
        case nil:
            outcome = .unlocked
            event["type"] = "access_code.used"
        case .unlocked(let grant)?:
            outcome = .unlocked
            event["type"] = "access_code.used"
            event["offline_code"] = Self.reference(grant)
        case .erased(let grant)?:
            outcome = .erased
            event["type"] = "access_code.used"
            event["offline_code"] = Self.reference(grant)
        case .rejected?:
            outcome = mode == .search ? .rejected : .lockedOut
            event["type"] = "access_code.incorrect_attempt"
        }
        var lockout: Int64?
        if outcome == .rejected {
            lockout = budget.recordSearchRefused(at: t)
        } else if outcome == .lockedOut, mode == .exactMatchOnly {
            budget.recordLockoutRefusal(at: t)
        }
        // The budget is written with the decision, before the door opens (section 5.1), and
        // before waiting for the uplink: a PIN typed meanwhile must see this refusal.
        let written = budget
        update { $0.keypad = written }
        await uplink.inOrder {
            if outcome == .unlocked { update { $0.lockState = "unlocked" } }
            await report(event)
        }
        if let lockout {
            await report([
                "type": "lock.keypad_locked_out", "occurred_at": at.formatted(.iso8601),
                "locked_until": OfflinePINScheme.epoch.addingTimeInterval(Double(lockout)).formatted(.iso8601),
                "refused_in_bucket": written.level,
            ])
        }
        return outcome
    }

    /// Someone moved the bolt without the cloud: a thumb-turn (`manual_turn`), a phone app, a
    /// fob, a Bluetooth key, the keypad or the auto-lock timer. The lock reports it with its
    /// own `performed_via`, as real firmware would.
    public func operate(_ action: String, via: String) async {
        let target = action == "lock" ? "locked" : "unlocked"
        await uplink.inOrder {
            update { $0.lockState = target }
            await report(["type": "lock.\(target)", "performed_via": via, "occurred_at": now.formatted(.iso8601)])
        }
    }

    /// The keypad's time in seconds since the scheme epoch: the lock's clock, never before the
    /// time it last used (the monotonic floor, kept with the persistent state).
    private func keypadTime() -> Int64 {
        let reading = OfflinePINScheme.seconds(now)
        return state.withLockedValue { state in
            let t = max(reading, state.timeFloor ?? .min)
            state.timeFloor = t
            return t
        }
    }

    /// Someone removes an offline code at the lock over Bluetooth; the lock reports it.
    public func removeOfflineCode(_ pin: String) async -> Bool {
        let at = now
        guard let grant = changeVerifier({ $0.remove(pin, at: at) }) ?? nil else { return false }
        await report([
            "type": "access_code.removed_at_lock", "offline_code": Self.reference(grant), "occurred_at": at.formatted(.iso8601),
        ])
        return true
    }

    static func reference(_ grant: OfflinePINScheme.Grant) -> [String: any Sendable] {
        [
            "offline_access_code_type": grant.type.apiName, "key_version": Int(grant.keyVersion),
            "slot_period": Int(grant.period), "slot": grant.slot,
        ]
    }

    /// Queues an event and sends the queue now if the lock is online.
    private func report(_ event: [String: any Sendable]) async {
        outbox.withLockedValue { $0.append(event) }
        update { $0.unsentEvents += 1 }
        await flushEvents()
    }

    /// Sends queued events in order; stops at the first the gateway did not take (kept for
    /// the next try). One flush at a time, so nothing is sent twice.
    private func flushEvents() async {
        let claimed = flushing.withLockedValue { busy -> Bool in
            if busy { return false }
            busy = true
            return true
        }
        guard claimed else { return }
        defer { flushing.withLockedValue { $0 = false } }
        while !snapshot.offline, let next = outbox.withLockedValue({ $0.first }) {
            do {
                try await client.event(next)
            } catch let failure as GatewayClient.HTTPFailure where (400..<500).contains(failure.status) {
                // The gateway refused the report itself; sending it again would not help.
                logger.warning("event refused", metadata: ["lock": "\(lockID)", "error": "\(failure)"])
            } catch {
                return
            }
            outbox.withLockedValue { _ = $0.removeFirst() }
            update { $0.unsentEvents -= 1 }
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
