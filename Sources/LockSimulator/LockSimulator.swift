import Foundation
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import NIOCore
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Runs simulated locks against a LockCloud device gateway, and a small control API on
/// loopback so people and tests can make a lock drop off the network, come back, or jam:
///   GET  /locks                       every lock's state
///   POST /locks/{lock_id}/offline     stop heartbeats and command polling
///   POST /locks/{lock_id}/online
///   POST /locks/{lock_id}/jam         lock/unlock commands fail with LOCK_JAMMED
///   POST /locks/{lock_id}/unjam
///   POST /locks/{lock_id}/keypad      {"pin": "1234"}: a person types a PIN
///   POST /locks/{lock_id}/bluetooth/remove_code  {"pin": "..."}: an offline code removed at the lock
///   POST /locks/{lock_id}/clock       {"now": "2026-01-01T10:00:00Z"}: set the lock's clock
///   POST /locks/{lock_id}/power_cycle {"rtc_lost": false}: drop what the lock keeps in RAM only
///   POST /locks/{lock_id}/refuse_codes {"count": 1, "error_code": "KEYPAD_FULL"}: the next
///        `count` program or remove commands for codes are refused with that error
public struct LockSimulator: Sendable {
    /// One lock to simulate: its id and the device credential issued when it was paired.
    public struct LockCredential: Codable, Sendable {
        public let lockID: String
        public let deviceCredential: String

        enum CodingKeys: String, CodingKey {
            case lockID = "lock_id"
            case deviceCredential = "device_credential"
        }

        public init(lockID: String, deviceCredential: String) {
            self.lockID = lockID
            self.deviceCredential = deviceCredential
        }
    }

    private let registry = NIOLockedValueBox<[String: SimulatedLock]>([:])
    private let newLocks: AsyncStream<SimulatedLock>
    private let announce: AsyncStream<SimulatedLock>.Continuation
    let gatewayURL: URL
    let session: URLSession
    let timing: SimulatorTiming
    let logger: Logger

    public init(gatewayURL: URL, credentials: [LockCredential], timing: SimulatorTiming, logger: Logger) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = Self.connectionsPerHost(lockCount: credentials.count)
        self.session = URLSession(configuration: configuration)
        self.gatewayURL = gatewayURL
        self.timing = timing
        self.logger = logger
        (newLocks, announce) = AsyncStream.makeStream(of: SimulatedLock.self)
        for credential in credentials { add(credential) }
    }

    /// Starts simulating one more lock (no-op for a lock already simulated).
    public func add(_ credential: LockCredential) {
        let client = GatewayClient(baseURL: gatewayURL, credential: credential.deviceCredential, session: session)
        let lock = SimulatedLock(lockID: credential.lockID, client: client, timing: timing, logger: logger)
        let isNew = registry.withLockedValue { locks in
            guard locks[credential.lockID] == nil else { return false }
            locks[credential.lockID] = lock
            return true
        }
        if isNew { announce.yield(lock) }
    }

    /// Every lock runs its heartbeats and its command long poll side by side, and a long poll
    /// holds its connection for up to `pollWaitSeconds`: with a fixed cap (it was 64) the locks
    /// beyond it queued behind the others' polls, so a simulated fleet was only as large as the
    /// cap. Two connections per lock lift that; the floor leaves room for locks `add`ed later
    /// (the session's limit is fixed when it is made).
    static func connectionsPerHost(lockCount: Int) -> Int { max(64, 2 * lockCount) }

    public var lockIDs: Set<String> { Set(registry.withLockedValue { $0.keys }) }

    var locks: [String: SimulatedLock] { registry.withLockedValue { $0 } }

    /// Runs the locks and the control API until the process is stopped.
    public func run(controlHost: String, controlPort: Int, onControlReady: @escaping @Sendable (Int) async -> Void) async throws {
        let router = Router()
        router.get("/locks") { _, _ -> Response in
            let states = self.locks.mapValues(\.snapshot)
            return try Self.json(states)
        }
        for (path, change) in Self.controls {
            router.post("/locks/:lock_id/\(path)") { _, context -> Response in
                guard let lock = context.parameters.get("lock_id").flatMap({ self.locks[$0] }) else {
                    return Response(status: .notFound)
                }
                lock.update(change)
                return try Self.json(lock.snapshot)
            }
        }
        struct Typed: Decodable { let pin: String }
        // A person at the door: {"pin": "1234"} → {"unlocked": true | false, "outcome": ...}.
        router.post("/locks/:lock_id/keypad") { request, context -> Response in
            guard let lock = context.parameters.get("lock_id").flatMap({ self.locks[$0] }) else {
                return Response(status: .notFound)
            }
            let typed = try await request.decode(as: Typed.self, context: context)
            let outcome = await lock.typePIN(typed.pin)
            struct Answer: Encodable {
                let unlocked: Bool
                let outcome: SimulatedLock.KeypadOutcome
            }
            return try Self.json(Answer(unlocked: outcome == .unlocked, outcome: outcome))
        }
        // The owner's phone removes an offline code over Bluetooth: {"pin": ...} → {"removed": bool}.
        router.post("/locks/:lock_id/bluetooth/remove_code") { request, context -> Response in
            guard let lock = context.parameters.get("lock_id").flatMap({ self.locks[$0] }) else {
                return Response(status: .notFound)
            }
            let typed = try await request.decode(as: Typed.self, context: context)
            return try Self.json(["removed": await lock.removeOfflineCode(typed.pin)])
        }
        // Sets the lock's clock: {"now": RFC 3339}.
        router.post("/locks/:lock_id/clock") { request, context -> Response in
            guard let lock = context.parameters.get("lock_id").flatMap({ self.locks[$0] }) else {
                return Response(status: .notFound)
            }
            struct Clock: Decodable { let now: String }
            let clock = try await request.decode(as: Clock.self, context: context)
            // Within a century of now: a lock's clock, not a value that overflows hour arithmetic.
            guard let date = try? Date(clock.now, strategy: .iso8601), abs(date.timeIntervalSinceNow) < 100 * 365.25 * 86_400
            else { return Response(status: .badRequest) }
            lock.update { $0.clockOffsetSeconds = date.timeIntervalSinceNow }
            return try Self.json(lock.snapshot)
        }
        // The bolt moved at the door: {"action": "lock" | "unlock", "via": performed_via}.
        router.post("/locks/:lock_id/operate") { request, context -> Response in
            guard let lock = context.parameters.get("lock_id").flatMap({ self.locks[$0] }) else {
                return Response(status: .notFound)
            }
            struct Operation: Decodable { let action: String, via: String }
            guard let operation = try? await request.decode(as: Operation.self, context: context),
                ["lock", "unlock"].contains(operation.action), (1...32).contains(operation.via.count)
            else { return Response(status: .badRequest) }
            await lock.operate(operation.action, via: operation.via)
            return try Self.json(lock.snapshot)
        }
        // New batteries, or a drained pack: {"level": 0...100}, reported at the next heartbeat.
        router.post("/locks/:lock_id/battery") { request, context -> Response in
            guard let lock = context.parameters.get("lock_id").flatMap({ self.locks[$0] }) else {
                return Response(status: .notFound)
            }
            struct Battery: Decodable { let level: Int }
            guard let battery = try? await request.decode(as: Battery.self, context: context), (0...100).contains(battery.level)
            else { return Response(status: .badRequest) }
            lock.update { $0.batteryLevel = Double(battery.level) }
            return try Self.json(lock.snapshot)
        }
        // The bolt is stuck and the lock says why: {"reason": "BOLT_OBSTRUCTED"}; `unjam` clears it.
        router.post("/locks/:lock_id/fault") { request, context -> Response in
            guard let lock = context.parameters.get("lock_id").flatMap({ self.locks[$0] }) else {
                return Response(status: .notFound)
            }
            struct Fault: Decodable { let reason: String }
            guard let fault = try? await request.decode(as: Fault.self, context: context), (1...64).contains(fault.reason.count)
            else { return Response(status: .badRequest) }
            lock.update {
                $0.jammed = true
                $0.jamReason = fault.reason
            }
            return try Self.json(lock.snapshot)
        }
        // A power cycle: {"rtc_lost": bool} (the real-time clock lost power too).
        router.post("/locks/:lock_id/power_cycle") { request, context -> Response in
            guard let lock = context.parameters.get("lock_id").flatMap({ self.locks[$0] }) else {
                return Response(status: .notFound)
            }
            struct Cycle: Decodable { let rtc_lost: Bool? }
            let cycle = (try? await request.decode(as: Cycle.self, context: context)) ?? Cycle(rtc_lost: nil)
            lock.powerCycle(rtcLost: cycle.rtc_lost ?? false)
            return try Self.json(lock.snapshot)
        }
        // The lock refuses the next code commands: {"count": n (default 1), "error_code": "..."}.
        router.post("/locks/:lock_id/refuse_codes") { request, context -> Response in
            guard let lock = context.parameters.get("lock_id").flatMap({ self.locks[$0] }) else {
                return Response(status: .notFound)
            }
            struct Refusal: Decodable {
                let count: Int?
                let error_code: String?
            }
            guard let refusal = try? await request.decode(as: Refusal.self, context: context),
                (0...1000).contains(refusal.count ?? 1),
                refusal.error_code.map({ !$0.isEmpty && $0.count <= 64 }) ?? true
            else { return Response(status: .badRequest) }
            lock.update {
                $0.refuseCodes = refusal.count ?? 1
                $0.refusalErrorCode = refusal.error_code ?? "KEYPAD_FULL"
            }
            return try Self.json(lock.snapshot)
        }
        let app = Application(
            router: router, configuration: .init(address: .hostname(controlHost, port: controlPort)),
            onServerRunning: { channel in await onControlReady(channel.localAddress?.port ?? controlPort) }, logger: logger)
        // Each lock added (at start or later) runs as its own child task of this one. It is not
        // awaited at the end: a lock in the middle of a long poll would hold up the exit, and a
        // simulated lock has nothing to save.
        let locks = Task {
            await withDiscardingTaskGroup { group in
                for await lock in newLocks { group.addTask { await lock.run() } }
            }
        }
        defer {
            // Stopping: every lock's requests in flight are cancelled, not waited for.
            locks.cancel()
            session.invalidateAndCancel()
        }
        try await app.runService()
    }

    static let controls: [(String, @Sendable (inout SimulatedLock.State) -> Void)] = [
        ("offline", { $0.offline = true }),
        ("online", { $0.offline = false }),
        ("jam", { $0.jammed = true }),
        ("unjam", {
            $0.jammed = false
            $0.jamReason = nil
        }),
    ]

    static func json(_ value: some Encodable) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }
}
