import Foundation
import OpenAPIRuntime

/// RFC 3339 timestamps for request and response bodies. Decoding is strict: a date that does
/// not exist (February 30th, hour 24) is refused instead of being rolled over into another
/// date, as Foundation's parser would. Output is UTC with `Z`, whole seconds.
struct StrictTimestampTranscoder: DateTranscoder {
    struct InvalidTimestamp: Error, CustomStringConvertible {
        let text: String
        var description: String { "\(text.prefix(40).debugDescription) is not a valid RFC 3339 timestamp" }
    }

    func encode(_ date: Date) throws -> String {
        date.formatted(.iso8601)
    }

    func decode(_ text: String) throws -> Date {
        // YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)
        let pattern = #/^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/#
        guard let match = text.wholeMatch(of: pattern),
            let year = Int(match.1), let month = Int(match.2), let day = Int(match.3),
            let hour = Int(match.4), let minute = Int(match.5), let second = Int(match.6),
            (1...12).contains(month), hour < 24, minute < 60, second < 60
        else { throw InvalidTimestamp(text: text) }
        var offset = 0
        let zone = String(match.8)
        if zone.uppercased() != "Z" {
            let sign = zone.hasPrefix("-") ? -1 : 1
            guard let hours = Int(zone.dropFirst().prefix(2)), let minutes = Int(zone.suffix(2)), hours < 24, minutes < 60
            else { throw InvalidTimestamp(text: text) }
            offset = sign * (hours * 3600 + minutes * 60)
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 0)!
        let components = DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
        guard let local = calendar.date(from: components),
            calendar.dateComponents([.year, .month, .day], from: local) == DateComponents(year: year, month: month, day: day)
        else { throw InvalidTimestamp(text: text) }
        let fraction = match.7.flatMap { Double("0" + $0) } ?? 0
        return local.addingTimeInterval(fraction - Double(offset))
    }
}
