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
    /// created_at in microseconds since 1970, exact (read as `ExactTimestamp`): the page
    /// cursor's first half.
    let createdMicros: Int64

    /// Reads the columns of `Lock.columns`, in their order (from `reader`'s position on).
    init(_ reader: inout PostgresRowReader) throws {
        id = try reader.next(UUID.self)
        ownerID = try reader.next(UUID.self)
        name = try reader.next(String.self)
        model = try reader.next(String.self)
        address = try reader.next(String?.self)
        timezone = try reader.next(String.self)
        latitude = try reader.next(Double?.self)
        longitude = try reader.next(Double?.self)
        bridgeID = try reader.next(UUID?.self)
        online = try reader.next(Bool.self)
        batteryLevel = try reader.next(Int?.self)
        signalQuality = try reader.next(Int?.self)
        lockState = try reader.next(String.self)
        doorState = try reader.next(String.self)
        deviceTime = try reader.next(Date?.self)
        let created = try reader.next(ExactTimestamp.self)
        createdAt = created.date
        updatedAt = try reader.next(Date.self)
        createdMicros = created.microsSince1970
        capabilities = try LockCapabilities(&reader)
        let deviceTimeWrong = try reader.next(Bool.self)
        let keypadLockedUntil = try reader.next(Date?.self)
        let liveCodes = try reader.next(Int.self)
        warnings = LockWarning.current(
            deviceTimeWrong: deviceTimeWrong, deviceTime: deviceTime, batteryLevel: batteryLevel, liveCodes: liveCodes,
            maxAccessCodes: capabilities.maxAccessCodes, keypadLockedUntil: keypadLockedUntil, now: Date())
    }

    init(row: PostgresRow) throws {
        var reader = PostgresRowReader(row)
        try self.init(&reader)
    }

    /// What `init(row:)` reads, in its order, from `locks l` joined to `lock_models m` and to a
    /// lock's live code count as `c.live_codes` (see `LockStore.selectLock`). The statements read
    /// the tables, not the `live_locks` view: the view joins the models itself, so the warnings'
    /// facts and the remaining capabilities meant joining `locks` and `lock_models` a second time.
    static let columns: SQL = pageColumns + " , c.live_codes\n"

    /// `columns` without the live code count, for a page that counts its locks' codes at once.
    static let pageColumns: SQL = """
         l.lock_id, l.owner_id, l.name, l.model_id, l.address, l.timezone, l.latitude, l.longitude, l.bridge_id,
         l.online, l.battery_level, l.signal_quality, l.lock_state, l.door_state, l.device_time, l.created_at,
         l.updated_at,
        """ + LockCapabilities.columns + """
        ,
         l.device_time_wrong, l.keypad_locked_until

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
