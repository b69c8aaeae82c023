/// The device gateway's request bodies, as openapi/openapi.yaml describes them under
/// /device/v1. Every field is optional here: which ones a request needs depends on the event
/// type or the route, and the routes say so in their own errors. Times stay text until
/// `DeviceGatewayRoutes` checks them strictly (RFC 3339 inside `DeviceTimeWindow`); numbers are
/// `WholeNumber`s, so that a fraction or a huge value is refused by its field's name.

/// `POST /device/v1/heartbeat`.
struct HeartbeatBody: Decodable {
    let batteryLevel: WholeNumber?
    let lockState: String?
    let doorState: String?
    let signalQuality: WholeNumber?
    let deviceTime: String?
    let offlineKeyVersion: WholeNumber?

    enum CodingKeys: String, CodingKey {
        case batteryLevel = "battery_level", lockState = "lock_state", doorState = "door_state"
        case signalQuality = "signal_quality", deviceTime = "device_time", offlineKeyVersion = "offline_key_version"
    }
}

/// `POST /device/v1/commands/{command_id}/result`.
struct CommandResultBody: Decodable {
    let success: Bool?
    let errorCode: String?
    let lockState: String?

    enum CodingKeys: String, CodingKey {
        case success, errorCode = "error_code", lockState = "lock_state"
    }
}

/// `POST /device/v1/events`: one body for every event type; `type` says which fields count.
struct DeviceEventBody: Decodable {
    let type: String?
    let occurredAt: String?
    let performedVia: String?
    let accessCodeID: String?
    let offlineCode: OfflineCodeReferenceBody?
    let lockedUntil: String?
    let batteryLevel: WholeNumber?

    enum CodingKeys: String, CodingKey {
        case type, occurredAt = "occurred_at", performedVia = "performed_via", accessCodeID = "access_code_id"
        case offlineCode = "offline_code", lockedUntil = "locked_until", batteryLevel = "battery_level"
    }
}

/// The offline grant a lock verified (or removed at its keypad).
struct OfflineCodeReferenceBody: Decodable {
    let offlineAccessCodeType: String?
    let keyVersion: WholeNumber?
    let slotPeriod: WholeNumber?
    let slot: WholeNumber?

    enum CodingKeys: String, CodingKey {
        case offlineAccessCodeType = "offline_access_code_type", keyVersion = "key_version"
        case slotPeriod = "slot_period", slot
    }
}
