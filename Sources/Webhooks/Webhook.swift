import Foundation
import Postgres

/// A webhook as its client sees it (never its secret, which is shown once).
public struct Webhook: Sendable, Equatable {
    public let id: UUID
    public let clientID: String
    public let url: String
    /// Empty: every event type.
    public let eventTypes: [String]
    public let createdAt: Date

    init(row: PostgresRow) throws {
        id = try row.decode(UUID.self, column: "webhook_id")
        clientID = try row.decode(String.self, column: "client_id")
        url = try row.decode(String.self, column: "url")
        eventTypes = try row.decode(PostgresTextArray.self, column: "event_types").values
        createdAt = try row.decode(Date.self, column: "created_at")
    }

    /// Every event type LockCloud emits (contract 6, plus the lock's own lock/unlock reports).
    public static let eventTypes: Set<String> = [
        "device.online", "device.offline", "device.low_battery", "device.added", "device.removed",
        "lock.action_completed", "lock.locked", "lock.unlocked",
        "access_code.created", "access_code.updated", "access_code.deleted", "access_code.used",
        "access_code.incorrect_attempt", "lock.keypad_locked_out", "device.time_wrong", "battery.replaced",
        // The guides' other spelling of device.low_battery: a webhook registered for it
        // receives device.low_battery events (the fan-out trigger matches both).
        "battery.low",
    ]
    /// Registrations one client may hold.
    public static let maxPerClient = 20
}

public enum WebhookError: Error, Equatable {
    case invalidURL(String)
    case forbiddenDestination(String)
    case unknownEventType(String)
    case limitReached
    case notFound
    case invalidCursor
    case invalidLimit
}
