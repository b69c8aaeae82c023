import Foundation

/// Times typed into the owner pages' forms. A browser's `datetime-local` field sends a wall
/// clock time without a zone (`2026-12-24T18:00`); the pages read it in the lock's time zone,
/// which is what its owner means. A full RFC 3339 time with an offset is taken as it is.
enum FormTime {
    struct Invalid: Error {
        let message: String
    }

    /// Nil for an empty field.
    static func parse(_ text: String?, field: String, timezone: String) throws(Invalid) -> Date? {
        guard let text = text?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        let invalid = Invalid(message: "\(field) is not a date and time (such as 2026-12-24T18:00).")
        guard text.count <= 40 else { throw invalid }
        if text.hasSuffix("Z") || text.dropFirst(19).contains(where: { $0 == "+" || $0 == "-" }) {
            guard let date = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: false)) else { throw invalid }
            return date
        }
        let halves = text.split(separator: "T", omittingEmptySubsequences: false)
        guard halves.count == 2, let zone = TimeZone(identifier: timezone) else { throw invalid }
        let day = halves[0].split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
        let clock = halves[1].split(separator: ":", omittingEmptySubsequences: false).map { Int($0) }
        guard day.count == 3, (2...3).contains(clock.count), !day.contains(nil), !clock.contains(nil),
            let year = day[0], let month = day[1], let dayOfMonth = day[2], let hour = clock[0], let minute = clock[1],
            (1...9999).contains(year)
        else { throw invalid }
        let second = clock.count == 3 ? clock[2]! : 0
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let components = DateComponents(year: year, month: month, day: dayOfMonth, hour: hour, minute: minute, second: second)
        // Calendar would roll February 30th over into March: only a time that reads back the same is real.
        guard let date = calendar.date(from: components),
            calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date) == components
        else { throw invalid }
        return date
    }

    /// `date` as a `datetime-local` value in `timezone`, to the minute.
    static func localInput(_ date: Date, timezone: String) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: timezone) ?? .gmt
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        return String(format: "%04d-%02d-%02dT%02d:%02d", c.year ?? 1970, c.month ?? 1, c.day ?? 1, c.hour ?? 0, c.minute ?? 0)
    }
}
