import Foundation
import NIOConcurrencyHelpers
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The device gateway as firmware sees it: plain HTTP + JSON with the lock's credential.
struct GatewayClient: Sendable {
    let baseURL: URL
    let credential: String
    let session: URLSession

    struct Command: Sendable {
        let id: String
        let type: String
        /// Text fields of the payload (a code to program: access_code_id, code, starts_at, ends_at).
        let payload: [String: String]
    }

    /// Returns the registry's offline key version floor, when the model has offline PINs, and
    /// the gateway's time.
    func heartbeat(
        batteryLevel: Int, lockState: String, doorState: String, signalQuality: Int, deviceTime: Date, offlineKeyVersion: Int?
    ) async throws -> (floor: Int?, serverTime: Date?) {
        var body: [String: any Sendable] = [
            "battery_level": batteryLevel, "lock_state": lockState, "door_state": doorState,
            "signal_quality": signalQuality, "device_time": deviceTime.formatted(.iso8601),
        ]
        if let offlineKeyVersion { body["offline_key_version"] = offlineKeyVersion }
        let answer = try await send("POST", "device/v1/heartbeat", body: body)
        let serverTime = (answer["server_time"] as? String).flatMap { try? Date($0, strategy: .iso8601) }
        return (answer["offline_key_version_floor"] as? Int, serverTime)
    }

    struct OfflineKey: Sendable {
        let key: Data
        let version: Int
        let digits: Int
    }

    /// The lock's offline PIN key; nil when its model has none.
    func offlineKey() async throws -> OfflineKey? {
        let object: [String: Any]
        do {
            object = try await send("GET", "device/v1/offline_key", body: nil)
        } catch let failure as HTTPFailure where failure.status == 404 {
            return nil
        }
        guard let key = (object["key"] as? String).flatMap({ Data(base64Encoded: $0) }), let version = object["key_version"] as? Int,
            let digits = object["digits"] as? Int
        else { throw HTTPFailure(status: 200, body: "offline key answer is incomplete") }
        return OfflineKey(key: key, version: version, digits: digits)
    }

    func commands(wait: Int) async throws -> [Command] {
        let object = try await send("GET", "device/v1/commands?wait=\(wait)", body: nil)
        let list = object["commands"] as? [[String: Any]] ?? []
        return list.compactMap { item in
            // Ids go back into a URL path: anything but a UUID is skipped, never spliced in.
            guard let id = item["command_id"] as? String, UUID(uuidString: id) != nil, let type = item["type"] as? String
            else { return nil }
            let payload = (item["payload"] as? [String: Any] ?? [:]).compactMapValues { $0 as? String }
            return Command(id: id, type: type, payload: payload)
        }
    }

    func result(commandID: String, success: Bool, errorCode: String?, lockState: String?) async throws {
        var body: [String: any Sendable] = ["success": success]
        if let errorCode { body["error_code"] = errorCode }
        if let lockState { body["lock_state"] = lockState }
        _ = try await send("POST", "device/v1/commands/\(commandID)/result", body: body)
    }

    func event(_ fields: [String: any Sendable]) async throws {
        _ = try await send("POST", "device/v1/events", body: fields)
    }

    struct HTTPFailure: Error, CustomStringConvertible {
        let status: Int
        let body: String
        var description: String { "gateway answered \(status): \(body.prefix(200))" }
    }

    private func send(_ method: String, _ path: String, body: [String: any Sendable]?) async throws -> [String: Any] {
        guard let url = URL(string: path, relativeTo: baseURL) else { throw HTTPFailure(status: 0, body: "not a URL: \(path)") }
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.timeoutInterval = Self.idleTimeoutSeconds
        request.setValue("Bearer \(credential)", forHTTPHeaderField: "Authorization")
        if let body {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = try JSONSerialization.data(withJSONObject: body)
        }
        let (data, status) = try await perform(request)
        guard (200..<300).contains(status) else {
            throw HTTPFailure(status: status, body: String(decoding: data, as: UTF8.self))
        }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
    }

    /// URLRequest's timeout bounds only the wait between two bytes; a gateway that trickles
    /// (or a connection that hangs half-open) is cut by this deadline on the whole request.
    /// Long polls ask the gateway for at most `pollWaitSeconds` (20 s by default).
    static let idleTimeoutSeconds: TimeInterval = 40
    static let deadline: Duration = .seconds(45)

    /// Sends `request` and ends at the deadline, or at once when the calling task is cancelled
    /// (the simulator stopping), whatever the gateway does.
    private func perform(_ request: URLRequest) async throws -> (Data, Int) {
        try await withThrowingTaskGroup(of: (Data, Int)?.self) { group in
            group.addTask { try await self.cancellableDataTask(request) }
            group.addTask {
                try await Task.sleep(for: Self.deadline)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let answer = first else {
                throw HTTPFailure(status: 0, body: "no answer within \(Self.deadline)")
            }
            return answer
        }
    }

    /// A data task that gives up on cancellation without waiting for URLSession to report it:
    /// the caller is resumed by the cancellation itself, and a late completion is ignored.
    private func cancellableDataTask(_ request: URLRequest) async throws -> (Data, Int) {
        let pending = PendingRequest()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let task = session.dataTask(with: request) { data, response, error in
                    if let data, let response {
                        pending.finish(.success((data, (response as? HTTPURLResponse)?.statusCode ?? 0)))
                    } else {
                        pending.finish(.failure(error ?? URLError(.badServerResponse)))
                    }
                }
                pending.start(task, continuation)
            }
        } onCancel: {
            pending.cancel()
        }
    }
}

/// One request's continuation, resumed exactly once: by its answer or by cancellation.
/// `@unchecked`: the task and continuation are only touched under the lock.
private final class PendingRequest: @unchecked Sendable {
    typealias Answer = (Data, Int)
    enum State {
        case idle
        case running(URLSessionDataTask, CheckedContinuation<Answer, any Error>)
        case cancelled
        case done
    }

    private let state = NIOLockedValueBox<State>(.idle)

    func start(_ task: URLSessionDataTask, _ continuation: CheckedContinuation<Answer, any Error>) {
        let cancelled = state.withLockedValue { state -> Bool in
            if case .cancelled = state { return true }
            state = .running(task, continuation)
            return false
        }
        if cancelled {
            continuation.resume(throwing: CancellationError())
        } else {
            task.resume()
        }
    }

    func finish(_ result: Result<Answer, any Error>) {
        let continuation = state.withLockedValue { state -> CheckedContinuation<Answer, any Error>? in
            guard case .running(_, let continuation) = state else { return nil }
            state = .done
            return continuation
        }
        continuation?.resume(with: result)
    }

    func cancel() {
        let running = state.withLockedValue { state -> (URLSessionDataTask, CheckedContinuation<Answer, any Error>)? in
            switch state {
            case .idle:
                state = .cancelled
                return nil
            case .running(let task, let continuation):
                state = .cancelled
                return (task, continuation)
            case .cancelled, .done:
                return nil
            }
        }
        guard let (task, continuation) = running else { return }
        task.cancel()
        continuation.resume(throwing: CancellationError())
    }
}
