import struct Foundation.Date

/// A `timestamptz` read and sent exactly: whole microseconds since 1970, PostgreSQL's own
/// precision. A `Date` is a `Double` and may land a microsecond off, which is harmless for
/// showing a time but not for a page cursor, whose row must compare equal to the stored value.
/// Reading it this way also spares PostgreSQL computing the microseconds itself: `extract(epoch
/// ...)` is numeric arithmetic, and per row of a 199-code list it was about 40 % of the statement.
public struct ExactTimestamp: Sendable, Hashable, Comparable, PostgresDecodable, PostgresEncodable {
    public let microsSince1970: Int64

    public init(microsSince1970: Int64) {
        self.microsSince1970 = microsSince1970
    }

    /// Before every stored instant (sent as `-infinity`): where a first page starts.
    public static let beforeAll = ExactTimestamp(microsSince1970: .min)

    public var date: Date { PostgresTimestamp.date(micros: microsSince1970) }

    public init(postgresBytes bytes: UnsafeBufferPointer<UInt8>) throws {
        guard let micros = PostgresTimestamp.parseMicros(bytes) else {
            throw PostgresError.cannotDecode(bytes.count, as: "ExactTimestamp")
        }
        microsSince1970 = micros
    }

    public init(postgresText: String) throws {
        guard let micros = PostgresTimestamp.parseMicros(postgresText) else {
            throw PostgresError.cannotDecode(postgresText, as: "ExactTimestamp")
        }
        microsSince1970 = micros
    }

    public var postgresText: String { PostgresTimestamp.format(micros: microsSince1970) }

    public static func < (lhs: ExactTimestamp, rhs: ExactTimestamp) -> Bool {
        lhs.microsSince1970 < rhs.microsSince1970
    }
}
