@testable import App
import Foundation
@testable import Locks
import Testing

/// The gateway's answers and the bearer header, both read on every lock's poll and heartbeat:
/// what they write and read must stay what JSONSerialization and Foundation's trimming gave.
@Suite struct DeviceGatewayAnswersTests {
    static func object(_ json: JSONWriter) throws -> NSDictionary {
        try #require(try JSONSerialization.jsonObject(with: Data(json.bytes)) as? NSDictionary)
    }

    @Test("commands: none, and several whose stored payloads (nested, escaped, unicode) come back as the same JSON")
    func commands() throws {
        #expect(DeviceGatewayAnswers.commands([]).text == #"{"commands":[]}"#)
        let payloads = [#"{"code": "1234", "name": "Guest \"A\"\\n", "slots": [1, 2], "nested": {"x": null}}"#, "{}", #"{"name": "Zürich 🚪"}"#]
        let commands = payloads.enumerated().map { index, payload in
            DeviceCommand(id: UUID(), type: index == 0 ? "set_code" : "unlock", payload: payload)
        }
        let parsed = try Self.object(DeviceGatewayAnswers.commands(commands))
        let list = try #require(parsed["commands"] as? [NSDictionary])
        #expect(list.count == 3)
        for (entry, command) in zip(list, commands) {
            #expect(entry["command_id"] as? String == command.id.uuidString.lowercased())
            #expect(entry["type"] as? String == command.type)
            let expected = try JSONSerialization.jsonObject(with: Data(command.payload.utf8)) as? NSDictionary
            #expect(entry["payload"] as? NSDictionary == expected)
        }
    }

    @Test("heartbeat: ok, the server's time as whole-second RFC 3339 UTC, the key floor only when there is one")
    func heartbeat() throws {
        let time = Date(timeIntervalSince1970: 1_796_251_219.58)
        let plain = try Self.object(DeviceGatewayAnswers.heartbeat(serverTime: time, offlineKeyVersionFloor: nil))
        #expect(plain == ["ok": true, "server_time": "2026-12-02T22:40:19Z"] as NSDictionary)
        #expect(plain["server_time"] as? String == time.formatted(.iso8601))
        let floored = try Self.object(DeviceGatewayAnswers.heartbeat(serverTime: time, offlineKeyVersionFloor: 3))
        #expect(floored["offline_key_version_floor"] as? Int == 3)
        #expect(floored.count == 3)
    }

    @Test("ok, with and without a status")
    func ok() throws {
        #expect(try Self.object(DeviceGatewayAnswers.ok()) == ["ok": true] as NSDictionary)
        #expect(try Self.object(DeviceGatewayAnswers.ok(status: "already_finished")) == ["ok": true, "status": "already_finished"] as NSDictionary)
    }

    @Test("the bearer header: scheme in any case, spaces and tabs around the token trimmed", arguments: [
        ("Bearer lca_abc", "lca_abc"), ("bearer lca_abc", "lca_abc"), ("BEARER \tlcd_x-y_z \t", "lcd_x-y_z"),
        ("bEaReR  tok", "tok"), ("Bearer é", "é"), ("Bearer    ", ""),
    ])
    func readsBearer(header: String, token: String) {
        #expect(BearerAuthMiddleware.bearerToken(in: header) == token)
    }

    @Test("not a bearer header", arguments: ["", "Bearer", "Bearer ", "Basic abc", "Bearer\tabc", "Bearerx abc", " Bearer abc", "Bearér abc"])
    func refusesOthers(header: String) {
        #expect(BearerAuthMiddleware.bearerToken(in: header) == nil)
    }
}
