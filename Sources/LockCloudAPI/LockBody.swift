package import Foundation

/// The contract's lock object (`#/components/schemas/Lock`), written by hand so that every
/// field is always present: `address`, `battery_level`, `location`, `bridge_id`... are sent
/// as `null` when unknown, as Seam expects, instead of being left out.
package struct LockBody: Codable, Hashable, Sendable {
    package struct Location: Codable, Hashable, Sendable {
        package var latitude: Double
        package var longitude: Double

        package init(latitude: Double, longitude: Double) {
            self.latitude = latitude
            self.longitude = longitude
        }
    }

    package var lockId: String
    package var name: String
    package var model: String
    package var address: String?
    package var deviceType: String = "smart_lock"
    package var online: Bool
    package var batteryLevel: Int?
    package var signalQuality: Int?
    package var location: Location?
    package var timezone: String
    package var bridgeId: String?
    package var lockState: String
    package var doorState: String
    package var deviceTime: Date?
    package var createdAt: Date
    package var updatedAt: Date
    /// What an owner should know about the lock now; set after `init` (built from live state).
    package var warnings: [Warning] = []
    /// Set after `init` from the model (`APIHandler.body`); the spec's capability fields.
    package var canRemotelyLock = false
    package var canRemotelyUnlock = false
    package var supportedCodeLengths: [Int] = []
    package var maxActiveCodesSupported = 0
    package var offlinePinLength: Int?
    package var offlineTimeFrameOptions: [OfflineTimeFrameOptionBody] = []
    package var canProgramOnlineAccessCodes: Bool
    package var canProgramOfflineAccessCodes: Bool
    package var codeLengthMin: Int
    package var codeLengthMax: Int
    package var maxAccessCodes: Int

    package init(
        lockId: String, name: String, model: String, address: String?, online: Bool, batteryLevel: Int?,
        signalQuality: Int?, location: Location?, timezone: String, bridgeId: String?, lockState: String,
        doorState: String, deviceTime: Date?, createdAt: Date, updatedAt: Date, canProgramOnlineAccessCodes: Bool,
        canProgramOfflineAccessCodes: Bool, codeLengthMin: Int, codeLengthMax: Int, maxAccessCodes: Int
    ) {
        self.lockId = lockId
        self.name = name
        self.model = model
        self.address = address
        self.online = online
        self.batteryLevel = batteryLevel
        self.signalQuality = signalQuality
        self.location = location
        self.timezone = timezone
        self.bridgeId = bridgeId
        self.lockState = lockState
        self.doorState = doorState
        self.deviceTime = deviceTime
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.canProgramOnlineAccessCodes = canProgramOnlineAccessCodes
        self.canProgramOfflineAccessCodes = canProgramOfflineAccessCodes
        self.codeLengthMin = codeLengthMin
        self.codeLengthMax = codeLengthMax
        self.maxAccessCodes = maxAccessCodes
    }

    /// `{"warning_code", "message"}`, the shape of access codes' warnings.
    package struct Warning: Codable, Hashable, Sendable {
        package var warningCode: String
        package var message: String

        package init(warningCode: String, message: String) {
            self.warningCode = warningCode
            self.message = message
        }

        package enum CodingKeys: String, CodingKey {
            case warningCode = "warning_code", message
        }
    }

    package enum CodingKeys: String, CodingKey {
        case lockId = "lock_id", name, model, address, deviceType = "device_type", online
        case batteryLevel = "battery_level", signalQuality = "signal_quality", location, timezone
        case bridgeId = "bridge_id", lockState = "lock_state", doorState = "door_state", deviceTime = "device_time"
        case createdAt = "created_at", updatedAt = "updated_at", warnings
        case canRemotelyLock = "can_remotely_lock", canRemotelyUnlock = "can_remotely_unlock"
        case supportedCodeLengths = "supported_code_lengths", maxActiveCodesSupported = "max_active_codes_supported"
        case offlinePinLength = "offline_pin_length", offlineTimeFrameOptions = "offline_time_frame_options"
        case canProgramOnlineAccessCodes = "can_program_online_access_codes"
        case canProgramOfflineAccessCodes = "can_program_offline_access_codes"
        case codeLengthMin = "code_length_min", codeLengthMax = "code_length_max", maxAccessCodes = "max_access_codes"
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(lockId, forKey: .lockId)
        try container.encode(name, forKey: .name)
        try container.encode(model, forKey: .model)
        try container.encode(address, forKey: .address)  // Optional.encode writes null
        try container.encode(deviceType, forKey: .deviceType)
        try container.encode(online, forKey: .online)
        try container.encode(batteryLevel, forKey: .batteryLevel)
        try container.encode(signalQuality, forKey: .signalQuality)
        try container.encode(location, forKey: .location)
        try container.encode(timezone, forKey: .timezone)
        try container.encode(bridgeId, forKey: .bridgeId)
        try container.encode(lockState, forKey: .lockState)
        try container.encode(doorState, forKey: .doorState)
        try container.encode(deviceTime, forKey: .deviceTime)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
        try container.encode(warnings, forKey: .warnings)
        try container.encode(canRemotelyLock, forKey: .canRemotelyLock)
        try container.encode(canRemotelyUnlock, forKey: .canRemotelyUnlock)
        try container.encode(supportedCodeLengths, forKey: .supportedCodeLengths)
        try container.encode(maxActiveCodesSupported, forKey: .maxActiveCodesSupported)
        try container.encode(offlinePinLength, forKey: .offlinePinLength)  // null without offline codes
        try container.encode(offlineTimeFrameOptions, forKey: .offlineTimeFrameOptions)
        try container.encode(canProgramOnlineAccessCodes, forKey: .canProgramOnlineAccessCodes)
        try container.encode(canProgramOfflineAccessCodes, forKey: .canProgramOfflineAccessCodes)
        try container.encode(codeLengthMin, forKey: .codeLengthMin)
        try container.encode(codeLengthMax, forKey: .codeLengthMax)
        try container.encode(maxAccessCodes, forKey: .maxAccessCodes)
    }
}

/// `#/components/schemas/LockList`: `next_page_cursor` is always present, `null` on the last page.
package struct LockListBody: Codable, Hashable, Sendable {
    package var locks: [LockBody]
    package var nextPageCursor: String?

    package init(locks: [LockBody], nextPageCursor: String?) {
        self.locks = locks
        self.nextPageCursor = nextPageCursor
    }

    package enum CodingKeys: String, CodingKey {
        case locks
        case nextPageCursor = "next_page_cursor"
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(locks, forKey: .locks)
        try container.encode(nextPageCursor, forKey: .nextPageCursor)
    }
}
