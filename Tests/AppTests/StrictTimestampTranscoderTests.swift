@testable import App
import Foundation
import Testing

@Suite("RFC 3339 timestamps in bodies: strict in, UTC whole seconds out")
struct StrictTimestampTranscoderTests {
    let transcoder = StrictTimestampTranscoder()

    @Test("accepts every RFC 3339 form and lands on the same instant as Foundation's parser")
    func acceptsValidForms() throws {
        let cases = [
            "2026-11-27T10:15:30Z", "2026-11-27t10:15:30z", "2026-11-27T12:15:30+02:00", "2026-11-27T05:45:30-04:30",
            "2024-02-29T00:00:00Z", "1999-12-31T23:59:59Z", "2026-11-27T10:15:30.5Z", "2026-11-27T10:15:30.123456789+00:00",
        ]
        for text in cases {
            let reference = try Date(text.uppercased(), strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: text.contains(".")))
            let parsed = try transcoder.decode(text)
            #expect(abs(parsed.timeIntervalSince(reference)) < 0.001, "\(text)")
        }
        #expect(try transcoder.decode("2026-11-27T12:15:30+02:00") == transcoder.decode("2026-11-27T10:15:30Z"))
    }

    @Test("refuses dates that do not exist and anything outside the grammar")
    func refusesInvalid() {
        let cases = [
            "2026-02-29T00:00:00Z", "2026-02-30T00:00:00Z", "2026-04-31T00:00:00Z", "2026-13-01T00:00:00Z",
            "2026-00-10T00:00:00Z", "2026-11-27T24:00:00Z", "2026-11-27T10:60:00Z", "2026-11-27T10:15:60Z",
            "2026-11-27T10:15:30", "2026-11-27 10:15:30Z", "2026-11-27T10:15:30.Z", "2026-11-27T10:15:30.1234567890Z",
            "2026-11-27T10:15:30+0200", "2026-11-27T10:15:30+24:00", "26-11-27T10:15:30Z", "2026-11-27T10:15:30Zjunk",
            "", "2026-11-27", "２０２６-11-27T10:15:30Z",
        ]
        for text in cases {
            #expect(throws: StrictTimestampTranscoder.InvalidTimestamp.self, "\(text)") { try transcoder.decode(text) }
        }
    }

    @Test("writes UTC with Z and whole seconds, rounding down, also before 1970")
    func encodes() throws {
        #expect(try transcoder.encode(Date(timeIntervalSince1970: 1_795_774_530.999)) == "2026-11-27T10:15:30Z")
        #expect(try transcoder.encode(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00Z")
        #expect(try transcoder.encode(Date(timeIntervalSince1970: -0.5)) == "1969-12-31T23:59:59Z")
        #expect(try transcoder.encode(Date(timeIntervalSince1970: 951_782_400)) == "2000-02-29T00:00:00Z")
        for seconds in stride(from: -2_000_000_000.0, to: 4_000_000_000, by: 86_399.7 * 37) {
            let date = Date(timeIntervalSince1970: seconds.rounded(.down))
            #expect(try transcoder.decode(transcoder.encode(date)) == date)
        }
    }
}
