import Foundation
@testable import Postgres
import Testing

@Suite("Timestamp text conversion")
struct TimestampTests {
    @Test("PostgreSQL's ISO output parses, with and without fractions and offsets",
          arguments: [
            ("2026-11-27 05:17:45+00", 1_795_756_665.0),
            ("2026-11-27 05:17:45.5+00", 1_795_756_665.5),
            ("2026-11-27 06:17:45.5+01", 1_795_756_665.5),
            ("2026-11-27 04:47:45-00:30", 1_795_756_665.0),
            ("1970-01-01T00:00:00Z", 0.0),
            ("1969-12-31 23:59:59.999999+00", -0.000_001),
          ])
    func parses(text: String, seconds: Double) throws {
        let date = try #require(PostgresTimestamp.parse(text))
        #expect(abs(date.timeIntervalSince1970 - seconds) < 0.000_000_5)
    }

    @Test("malformed timestamps are rejected", arguments: ["", "infinity", "2026-13-01 00:00:00+00", "2026-11-27", "2026-11-27 05:17:45+0x"])
    func rejects(text: String) {
        #expect(PostgresTimestamp.parse(text) == nil)
    }

    @Test("formatting is RFC 3339 UTC with microseconds and round-trips")
    func formats() throws {
        let date = Date(timeIntervalSince1970: 1_795_756_665.25)
        #expect(PostgresTimestamp.format(date) == "2026-11-27T05:17:45.250000Z")
        #expect(PostgresTimestamp.format(Date(timeIntervalSince1970: -1)) == "1969-12-31T23:59:59.000000Z")
        #expect(PostgresTimestamp.parse(PostgresTimestamp.format(date)) == date)
    }

    @Test("exact timestamps read whole microseconds and read as the same Date as before",
          arguments: [
            ("2026-11-27 05:17:45.123457+00", Int64(1_795_756_665_123_457)),
            ("2026-11-27 06:17:45.000001+01", Int64(1_795_756_665_000_001)),
            ("1970-01-01 00:00:00+00", Int64(0)),
            ("1969-12-31 23:59:59.999999+00", Int64(-1)),
            ("0001-01-01 00:00:00+00", Int64(-62_135_596_800_000_000)),
          ])
    func exact(text: String, micros: Int64) throws {
        let value = try ExactTimestamp(postgresText: text)
        #expect(value.microsSince1970 == micros)
        #expect(value.date == PostgresTimestamp.parse(text))
        // Sent back, it is the same instant to the microsecond.
        #expect(try ExactTimestamp(postgresText: value.postgresText) == value)
    }

    @Test("an exact timestamp outside the supported years is sent as -infinity or infinity")
    func exactBounds() throws {
        #expect(ExactTimestamp.beforeAll.postgresText == "-infinity")
        #expect(ExactTimestamp(microsSince1970: .max).postgresText == "infinity")
        #expect(ExactTimestamp(microsSince1970: .min + 1).postgresText == "-infinity")
        #expect(ExactTimestamp(microsSince1970: .min).date < Date(timeIntervalSince1970: 0))
        #expect(ExactTimestamp(microsSince1970: -62_135_596_800_000_001).postgresText == "-infinity")
        #expect(ExactTimestamp(microsSince1970: 1_795_756_665_000_001).postgresText == "2026-11-27T05:17:45.000001Z")
        #expect(throws: PostgresError.self) { try ExactTimestamp(postgresText: "infinity") }
        // PostgreSQL's last representable instant does not fit in microseconds since 1970.
        #expect(throws: PostgresError.self) { try ExactTimestamp(postgresText: "294276-12-31 23:59:59.999999+00") }
        #expect(PostgresTimestamp.parse("294276-12-31 23:59:59.999999+00") != nil)
    }
}
