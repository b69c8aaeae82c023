import Foundation
import OpenAPIRuntime
import Postgres

/// RFC 3339 timestamps for request and response bodies. Decoding is strict: a date that does
/// not exist (February 30th, hour 24) is refused instead of being rolled over into another
/// date, as Foundation's parser would. Output is UTC with `Z`, whole seconds.
///
/// Written over the text's bytes with civil-date arithmetic: a regex and Foundation's calendar
/// cost about a tenth of the server's CPU on requests that carry two timestamps.
struct StrictTimestampTranscoder: DateTranscoder {
    struct InvalidTimestamp: Error, CustomStringConvertible {
        let text: String
        var description: String { "\(text.prefix(40).debugDescription) is not a valid RFC 3339 timestamp" }
    }

    func encode(_ date: Date) throws -> String {
        CivilDate.dateTime(secondsSince1970: CivilDate.clampedSeconds(date.timeIntervalSince1970)) + "Z"
    }

    /// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, `t` and `z` in either case, 1 to 9 digits of
    /// fraction, whose UTC value lies in years 1 to 9999 (`CivilDate.supportedSeconds`):
    /// `0001-01-01T00:00:00+01:00` is year 0 in UTC and refused like any other invalid text.
    func decode(_ text: String) throws -> Date {
        guard let date = Self.parse(text) else { throw InvalidTimestamp(text: text) }
        return date
    }

    static func parse(_ text: String) -> Date? { parse(Array(text.utf8)) }

    private static func parse(_ bytes: [UInt8]) -> Date? {
        var index = 0
        func number(_ digits: Int) -> Int64? {
            guard index + digits <= bytes.count else { return nil }
            var value: Int64 = 0
            for byte in bytes[index..<index + digits] {
                guard (48...57).contains(byte) else { return nil }
                value = value * 10 + Int64(byte - 48)
            }
            index += digits
            return value
        }
        func skip(_ allowed: String) -> Bool {
            guard index < bytes.count, allowed.utf8.contains(bytes[index]) else { return false }
            index += 1
            return true
        }
        guard let year = number(4), skip("-"), let month = number(2), skip("-"), let day = number(2), skip("Tt"),
            let hour = number(2), skip(":"), let minute = number(2), skip(":"), let second = number(2),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 60
        else { return nil }
        var fraction = 0.0
        if skip(".") {
            var scale = 0.1
            let first = index
            while index < bytes.count, (48...57).contains(bytes[index]) {
                fraction += Double(bytes[index] - 48) * scale
                scale /= 10
                index += 1
            }
            guard (1...9).contains(index - first) else { return nil }
        }
        var offset: Int64 = 0
        if !skip("Zz") {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") else { return nil }
            let sign: Int64 = bytes[index] == UInt8(ascii: "-") ? -1 : 1
            index += 1
            guard let hours = number(2), skip(":"), let minutes = number(2), hours < 24, minutes < 60 else { return nil }
            offset = sign * (hours * 3600 + minutes * 60)
        }
        guard index == bytes.count else { return nil }
        let days = CivilDate.daysFromCivil(year: year, month: month, day: day)
        // A day that does not exist in its month (February 30th) comes back as another date.
        guard CivilDate.civil(fromDays: days) == (year, month, day) else { return nil }
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset
        guard CivilDate.supportedSeconds.contains(seconds) else { return nil }
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }
}
