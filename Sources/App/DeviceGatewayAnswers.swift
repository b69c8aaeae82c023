import Foundation
import Locks
import Postgres

/// The device gateway's most frequent answers, written by `JSONWriter`. With 10,000 locks
/// connected, Foundation's JSONSerialization (boxing every value, bridging the dictionaries)
/// was about a tenth of the server's CPU: every ended long poll and every heartbeat paid it.
enum DeviceGatewayAnswers {
    /// `{"commands": [{"command_id", "type", "payload"}]}`. A payload is the stored jsonb's
    /// text, which PostgreSQL prints as valid JSON, so it is copied as it is.
    static func commands(_ commands: [DeviceCommand]) -> JSONWriter {
        if commands.isEmpty { return noCommands }
        var json = JSONWriter(capacity: 64 + 160 * commands.count)
        json.object { json in
            json.key("commands")
            json.array(commands) { json, command in
                json.object { json in
                    json.member("command_id", command.id.lowercasedText)
                    json.member("type", command.type)
                    json.key("payload")
                    json.fragment(Array(command.payload.utf8))
                }
            }
        }
        return json
    }

    /// What most polls end with, written once.
    static let noCommands: JSONWriter = {
        var json = JSONWriter(capacity: 16)
        json.object { json in
            json.key("commands")
            json.array([DeviceCommand]()) { _, _ in }
        }
        return json
    }()

    /// `{"ok": true, "server_time": ..., "offline_key_version_floor": ...}` (the floor only when
    /// the lock's offline key must not go below it).
    static func heartbeat(serverTime: Date, offlineKeyVersionFloor: Int?) -> JSONWriter {
        var json = JSONWriter(capacity: 96)
        json.object { json in
            json.member("ok", true)
            json.member("server_time", serverTime)
            if let offlineKeyVersionFloor { json.member("offline_key_version_floor", offlineKeyVersionFloor) }
        }
        return json
    }

    /// `{"ok": true}`, with `"status"` when given.
    static func ok(status: String? = nil) -> JSONWriter {
        var json = JSONWriter(capacity: 48)
        json.object { json in
            json.member("ok", true)
            if let status { json.member("status", status) }
        }
        return json
    }
}
