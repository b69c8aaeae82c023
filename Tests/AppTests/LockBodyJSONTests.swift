@testable import App
import Foundation
import LockCloudAPI
import Locks
import Testing

@Suite("JSONWriter's lock JSON says what the generated encoding says")
struct LockBodyJSONTests {
    /// The generated routes' encoder, configured as `buildApplication` configures it.
    static func generatedEncoding(_ body: some Encodable) throws -> Any {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(try StrictTimestampTranscoder().encode(date))
        }
        return try JSONSerialization.jsonObject(with: encoder.encode(body))
    }

    static func lock(name: String, address: String?, location: LockBody.Location?, deviceTime: Date?) -> LockBody {
        LockBody(
            lockId: "0b3c1a52-8f0e-4c55-9d43-3a1d3f4f3b11", name: name, model: "lc-200", address: address, online: true,
            batteryLevel: address == nil ? nil : 87, signalQuality: address == nil ? nil : 3, location: location,
            timezone: "Europe/Berlin", bridgeId: nil, lockState: "locked", doorState: "closed", deviceTime: deviceTime,
            createdAt: Date(timeIntervalSince1970: 1_795_774_530.75), updatedAt: Date(timeIntervalSince1970: 1_795_774_600),
            canProgramOnlineAccessCodes: true, canProgramOfflineAccessCodes: false, codeLengthMin: 4, codeLengthMax: 8,
            maxAccessCodes: 199)
    }

    @Test("same object for plain, empty and hostile strings, absent and present optionals", arguments: [
        ("Front door", nil as String?),
        ("", "Main St 1"),
        ("Quote \" backslash \\ slash / tab \t newline \n bell \u{07} nul \u{00} delete \u{7F}", "Zürich 🚪 \u{1F}"),
        ("\u{2028}\u{2029} émoji 👩‍👩‍👧 \r\u{0C}\u{08}", "{\"not\": \"json\"}"),
    ])
    func matchesGeneratedEncoding(name: String, address: String?) throws {
        for (location, deviceTime) in [(nil, nil), (LockBody.Location(latitude: 52.520008, longitude: -0.0000123), Date(timeIntervalSince1970: 0))] {
            var body = Self.lock(name: name, address: address, location: location, deviceTime: deviceTime)
            // No warnings, or warnings whose text is as hostile as the name.
            body.warnings = address.map { [.init(warningCode: "LOW_BATTERY", message: name), .init(warningCode: "X", message: $0)] } ?? []
            if address != nil {
                // A model's capabilities, with nulls in its permanent option, escaped text and an array.
                body.setCapabilities(.init(
                    canRemotelyLock: true, canRemotelyUnlock: false, canProgramOnlineAccessCodes: true,
                    canProgramOfflineAccessCodes: true, supportedCodeLengths: [4, 5, 6], maxActiveCodesSupported: 199,
                    offlinePinLength: 11,
                    offlineTimeFrameOptions: [
                        .init(offlineAccessCodeType: "hourly_bound", displayName: name, minDuration: "PT1H", maxDuration: "PT672H",
                              durationStep: "PT1H", maxCodesPerPeriod: 3, period: "hour", isOneTimeUse: false),
                        .init(offlineAccessCodeType: "permanent", displayName: "Permanent", minDuration: nil, maxDuration: nil,
                              durationStep: nil, maxCodesPerPeriod: 3, period: "day", isOneTimeUse: false),
                    ], codeLengthMin: 4, codeLengthMax: 6, maxAccessCodes: 199))
            }
            var json = JSONWriter()
            body.write(to: &json)
            let text = json.text
            let parsed = try JSONSerialization.jsonObject(with: Data(text.utf8))
            let expected = try Self.generatedEncoding(body)
            #expect((parsed as? NSDictionary) == (expected as? NSDictionary), "\(text)")
            // Every field is present, unknown ones as null, as Seam expects.
            #expect((parsed as? [String: Any])?.count == 28)
        }
    }

    @Test("a page of locks: several, one, none; with and without a next cursor")
    func listMatchesGeneratedEncoding() throws {
        var withWarning = Self.lock(name: "Back \"door\"", address: "Hof 2", location: nil, deviceTime: nil)
        withWarning.warnings = [.init(warningCode: "CODE_LIMIT_REACHED", message: "Full.")]
        let locks = [Self.lock(name: "Front", address: nil, location: nil, deviceTime: nil), withWarning]
        for page in [
            LockListBody(locks: locks, nextPageCursor: "MTc5NTc3NDUzMDc1MDAwMDow"), LockListBody(locks: [locks[1]], nextPageCursor: nil),
            LockListBody(locks: [], nextPageCursor: nil),
        ] {
            var json = JSONWriter()
            page.write(to: &json)
            let parsed = try JSONSerialization.jsonObject(with: Data(json.text.utf8))
            #expect((parsed as? NSDictionary) == (try Self.generatedEncoding(page) as? NSDictionary), "\(json.text)")
        }
    }

    @Test("the options every offline-capable model shares are written once and copied: same JSON as one by one")
    func sharedOfflineOptions() throws {
        let capabilities = LockCapabilities(
            canRemotelyLock: true, canRemotelyUnlock: true, canProgramOnlineAccessCodes: true,
            canProgramOfflineAccessCodes: true, codeLengthMin: 4, codeLengthMax: 8, maxAccessCodes: 199, offlinePinLength: 11)
        var body = Self.lock(name: "Front", address: "Hof 2", location: nil, deviceTime: nil)
        body.setCapabilities(APIHandler.body(capabilities))
        #expect(body.offlineTimeFrameOptions.sharesStorage(with: APIHandler.allOfflineOptionBodies))
        #expect(body.offlineTimeFrameOptions.count == OfflineTimeFrameOption.all.count)

        var shared = JSONWriter()
        body.write(to: &shared)
        // The same options in an array of their own take the element-by-element path.
        body.offlineTimeFrameOptions = body.offlineTimeFrameOptions.map { $0 }
        #expect(!body.offlineTimeFrameOptions.sharesStorage(with: APIHandler.allOfflineOptionBodies))
        var oneByOne = JSONWriter()
        body.write(to: &oneByOne)
        #expect(shared.text == oneByOne.text)
        let parsed = try JSONSerialization.jsonObject(with: Data(shared.text.utf8))
        #expect((parsed as? NSDictionary) == (try Self.generatedEncoding(body) as? NSDictionary), "\(shared.text)")
        // Two locks in a page: the fragment is separated like any other value.
        var page = JSONWriter()
        LockListBody(locks: [body, body], nextPageCursor: nil).write(to: &page)
        #expect(page.text == "{\"locks\":[\(oneByOne.text),\(oneByOne.text)],\"next_page_cursor\":null}")
    }
}
