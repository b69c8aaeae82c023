import Foundation
import Hummingbird
import Logging
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

    let locks: [String: SimulatedLock]
    let logger: Logger

    public init(gatewayURL: URL, credentials: [LockCredential], timing: SimulatorTiming, logger: Logger) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = 4 * max(1, credentials.count)
        let session = URLSession(configuration: configuration)
        var locks: [String: SimulatedLock] = [:]
        for credential in credentials {
            let client = GatewayClient(baseURL: gatewayURL, credential: credential.deviceCredential, session: session)
            locks[credential.lockID] = SimulatedLock(lockID: credential.lockID, client: client, timing: timing, logger: logger)
        }
        self.locks = locks
        self.logger = logger
    }

    /// Runs the locks and the control API until the process is stopped.
    public func run(controlHost: String, controlPort: Int, onControlReady: @escaping @Sendable (Int) async -> Void) async throws {
        let router = Router()
        router.get("/locks") { _, _ -> Response in
            let states = locks.mapValues(\.snapshot)
            return try Self.json(states)
        }
        for (path, change) in Self.controls {
            router.post("/locks/:lock_id/\(path)") { _, context -> Response in
                guard let lock = context.parameters.get("lock_id").flatMap({ locks[$0] }) else {
                    return Response(status: .notFound)
                }
                lock.update(change)
                return try Self.json(lock.snapshot)
            }
        }
        let app = Application(
            router: router, configuration: .init(address: .hostname(controlHost, port: controlPort)),
            onServerRunning: { channel in await onControlReady(channel.localAddress?.port ?? controlPort) }, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lock in locks.values { group.addTask { await lock.run() } }
            group.addTask { try await app.runService() }
            try await group.next()
            group.cancelAll()
        }
    }

    static let controls: [(String, @Sendable (inout SimulatedLock.State) -> Void)] = [
        ("offline", { $0.offline = true }),
        ("online", { $0.offline = false }),
        ("jam", { $0.jammed = true }),
        ("unjam", { $0.jammed = false }),
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
