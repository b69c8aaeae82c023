@testable import App
import Foundation
import LockCloudAPI
import Testing

@Suite("JSONWriter's access code JSON says what the generated encoding says")
struct AccessCodeBodyJSONTests {
    static func code(name: String?, startsAt: Date?, endsAt: Date?, issues: [AccessCodeBody.Issue]) -> AccessCodeBody {
        AccessCodeBody(
            accessCodeId: "5d0c7a3e-1f57-4b8e-a7f4-6f0e9b1c2d3a", lockId: "0b3c1a52-8f0e-4c55-9d43-3a1d3f4f3b11",
            ownerId: "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", name: name, code: "482910",
            type: endsAt == nil ? "ongoing" : "time_bound", startsAt: startsAt, endsAt: endsAt, status: "pending",
            createdAt: Date(timeIntervalSince1970: 1_795_774_530.75), updatedAt: Date(timeIntervalSince1970: 1_795_774_600),
            errors: issues, warnings: issues.reversed())
    }

    static func written(_ write: (inout JSONWriter) -> Void) throws -> (text: String, parsed: NSDictionary?) {
        var json = JSONWriter()
        write(&json)
        return (json.text, try JSONSerialization.jsonObject(with: Data(json.text.utf8)) as? NSDictionary)
    }

    @Test("same object for online and offline codes, absent and present optionals, hostile strings", arguments: [
        nil as String?, "", "Guest \"one\" \\ / \t\n \u{00}\u{1F}\u{7F} Zürich 🚪 \u{2028}",
    ])
    func matchesGeneratedEncoding(name: String?) throws {
        let issues: [AccessCodeBody.Issue] = [
            .init(code: "OFFLINE_TIMES_ROUNDED", message: name ?? "rounded"), .init(code: "KEYPAD_FULL", message: "Full."),
        ]
        var offline = Self.code(
            name: name, startsAt: Date(timeIntervalSince1970: 0), endsAt: Date(timeIntervalSince1970: 253_402_300_799),
            issues: issues)
        offline.isOfflineAccessCode = true
        offline.offlineAccessCodeType = "hourly_bound"
        offline.isOneTimeUse = true
        for body in [Self.code(name: name, startsAt: nil, endsAt: nil, issues: []), offline] {
            let (text, parsed) = try Self.written { body.write(to: &$0) }
            #expect(parsed == (try LockBodyJSONTests.generatedEncoding(body) as? NSDictionary), "\(text)")
            // Every field is present, unknown ones as null.
            #expect(parsed?.count == 16)
        }
    }

    @Test("a page of codes: several, none; with and without a next cursor")
    func listMatchesGeneratedEncoding() throws {
        let codes = [
            Self.code(name: "A", startsAt: nil, endsAt: nil, issues: []),
            Self.code(name: nil, startsAt: Date(timeIntervalSince1970: 1_800_000_000), endsAt: Date(timeIntervalSince1970: 1_800_003_600),
                      issues: [.init(code: "X", message: "y")]),
        ]
        for page in [
            AccessCodeListBody(accessCodes: codes, nextPageCursor: "MTc5NTc3NDUzMDc1MDAwMDow"),
            AccessCodeListBody(accessCodes: [], nextPageCursor: nil),
        ] {
            let (text, parsed) = try Self.written { page.write(to: &$0) }
            #expect(parsed == (try LockBodyJSONTests.generatedEncoding(page) as? NSDictionary), "\(text)")
        }
    }
}
