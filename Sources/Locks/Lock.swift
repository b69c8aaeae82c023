import Foundation
import Postgres

/// A paired lock with its model's capabilities, as the API shows it.
public struct Lock: Sendable, Equatable {
    public let id: UUID
    public let ownerID: UUID
    public var name: String
    public let model: String
    public var address: String?
    public var timezone: String
    public let latitude: Double?
    public let longitude: Double?
    public let bridgeID: UUID?
    public let online: Bool
    public let batteryLevel: Int?
    public let signalQuality: Int?
    public let lockState: String
    public let doorState: String
    public let deviceTime: Date?
    public let createdAt: Date
    public let updatedAt: Date
    /// The model's capabilities (`LockStore` reads the model columns with every lock).
    public let capabilities: LockCapabilities
    public var canProgramOnlineAccessCodes: Bool { capabilities.canProgramOnlineAccessCodes }
    public var canProgramOfflineAccessCodes: Bool { capabilities.canProgramOfflineAccessCodes }
    public var codeLengthMin: Int { capabilities.codeLengthMin }
    public var codeLengthMax: Int { capabilities.codeLengthMax }
    public var maxAccessCodes: Int { capabilities.maxAccessCodes }
    /// What an owner should know about the lock now (Seam shows these to its users).
    public let warnings: [LockWarning]
    /// created_at in microseconds since 1970, exact: the page cursor's first half.
    let createdMicros: Int64

    /// Decodes a `live_locks` row joined with the model columns the view predates
    /// (the view is left as it is so that other changes to it merge cleanly) (`offline_pin_length`, `supports_remote_lock`, `supports_remote_unlock`).
    init(row: PostgresRow) throws {
        id = try row.decode(UUID.self, column: "lock_id")
        ownerID = try row.decode(UUID.self, column: "owner_id")
        name = try row.decode(String.self, column: "name")
        model = try row.decode(String.self, column: "model_id")
        address = try row.decode(String?.self, column: "address")
        timezone = try row.decode(String.self, column: "timezone")
        latitude = try row.decode(Double?.self, column: "latitude")
        longitude = try row.decode(Double?.self, column: "longitude")
        bridgeID = try row.decode(UUID?.self, column: "bridge_id")
        online = try row.decode(Bool.self, column: "online")
        batteryLevel = try row.decode(Int?.self, column: "battery_level")
        signalQuality = try row.decode(Int?.self, column: "signal_quality")
        lockState = try row.decode(String.self, column: "lock_state")
        doorState = try row.decode(String.self, column: "door_state")
        deviceTime = try row.decode(Date?.self, column: "device_time")
        createdAt = try row.decode(Date.self, column: "created_at")
        updatedAt = try row.decode(Date.self, column: "updated_at")
        createdMicros = try row.decode(Int64.self, column: "created_micros")
        capabilities = try LockCapabilities(row: row)
        warnings = LockWarning.current(
            deviceTimeWrong: try row.decode(Bool.self, column: "device_time_wrong"), deviceTime: deviceTime,
            batteryLevel: batteryLevel,
            liveCodes: try row.decode(Int.self, column: "live_codes"), maxAccessCodes: capabilities.maxAccessCodes,
            keypadLockedUntil: try row.decode(Date?.self, column: "keypad_locked_until"), now: Date())
    }

    /// The columns `init(row:)` needs beyond the `live_locks` view's, for a query that joins
    /// `locks k` and `lock_models m` to `live_locks l`: the warnings' facts and the capabilities
    /// the view does not carry.
    static let warningColumns: SQL = """
         k.device_time_wrong, k.keypad_locked_until, live_code_count(l.lock_id) AS live_codes,
         m.offline_pin_length, m.supports_remote_lock, m.supports_remote_unlock

        """
}

/// One entry of a lock's `warnings`: `{"warning_code", "message"}`, as on access codes.
public struct LockWarning: Sendable, Equatable {
    public let code: String
    public let message: String

    static func current(
        deviceTimeWrong: Bool, deviceTime: Date?, batteryLevel: Int?, liveCodes: Int, maxAccessCodes: Int,
        keypadLockedUntil: Date?, now: Date
    ) -> [LockWarning] {
        var warnings: [LockWarning] = []
        if deviceTimeWrong {
            let reported = deviceTime.map { " (it last reported \($0.formatted(.iso8601)))" } ?? ""
            warnings.append(.init(
                code: "DEVICE_TIME_WRONG",
                message: "The lock's clock is wrong\(reported): offline codes may open at the wrong times until the gateway corrects it."))
        }
        if let batteryLevel, batteryLevel < DeviceGatewayStore.lowBatteryThreshold {
            warnings.append(.init(code: "LOW_BATTERY", message: "Battery at \(batteryLevel) %: replace the batteries soon."))
        }
        if liveCodes >= maxAccessCodes {
            warnings.append(.init(
                code: "CODE_LIMIT_REACHED",
                message: "The lock holds its maximum of \(maxAccessCodes) access codes: delete one before creating another."))
        }
        if let keypadLockedUntil, keypadLockedUntil > now {
            warnings.append(.init(
                code: "KEYPAD_LOCKED_OUT",
                message: "The keypad is locked out until \(keypadLockedUntil.formatted(.iso8601)) after repeated wrong PINs: someone may be guessing codes."))
        }
        return warnings
    }
}

/// Why a lock change was refused; each maps to an `error_code` at the HTTP edge.
public enum LockError: Error, Equatable {
    case invalidName
    case invalidAddress
    case invalidTimezone(String)
    case unknownModel(String)
    case invalidCursor
    case invalidLimit
}
