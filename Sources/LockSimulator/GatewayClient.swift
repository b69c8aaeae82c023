import Foundation
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
        request.timeoutInterval = 40
        request.setValue("Bearer \(credential)", forHTTPHeaderField: "Authorization")
        if let body {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = try JSONSerialization.data(withJSONObject: body)
        }
        let (data, response) = try await session.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else {
            throw HTTPFailure(status: status, body: String(decoding: data, as: UTF8.self))
        }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
    }
}
