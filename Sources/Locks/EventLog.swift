import Foundation
import Postgres

/// Appends events inside the caller's transaction, so an event exists exactly when the change
/// that caused it was committed (the webhook worker delivers from this table).
public enum EventLog {
    /// `clientID`: the OAuth client whose request the event answers, when `data` carries that
    /// request's identifiers (`action_id`, `custom_id`); other clients see those as null.
    public static func append(
        _ type: String, ownerID: UUID, deviceID: UUID?, data: [String: any Sendable] = [:], clientID: String? = nil,
        on connection: PostgresConnection
    ) throws {
        let object = data.mapValues { $0 is JSONNull ? NSNull() : $0 as Any }
        let json = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        try connection.query(
            "INSERT INTO events (event_type, owner_id, device_id, data, client_id) VALUES ($1, $2, $3, $4::jsonb, $5)",
            [type, ownerID, deviceID, String(decoding: json, as: UTF8.self), clientID])
    }

    /// A field of `data` that is present with the value null when there is none (the guide's
    /// events list every field). JSONSerialization wants NSNull, which is not Sendable.
    public static func nullable(_ value: (any Sendable)?) -> any Sendable { value ?? JSONNull() }

    struct JSONNull: Sendable {}
}
