import struct Foundation.Date

/// Converts between `Date` and PostgreSQL `timestamptz` text without Foundation's formatters,
/// which are slow and locale-sensitive.
enum PostgresTimestamp {
    /// `2026-11-27T05:17:45.123456Z` (microseconds: PostgreSQL's precision).
    static func format(_ date: Date) -> String {
        let totalMicros = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
        var seconds = totalMicros / 1_000_000
        var micros = totalMicros % 1_000_000
        if micros < 0 { micros += 1_000_000; seconds -= 1 }
        return CivilDate.dateTime(secondsSince1970: seconds) + ".\(CivilDate.zeroPadded(micros, 6))Z"
    }

    /// Parses `YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM[:SS]]]` (PostgreSQL's ISO output; a `T`
    /// separator is accepted too). Returns nil for anything else, including `infinity`.
    static func parse(_ text: String) -> Date? {
        var scanner = Scanner(Array(text.utf8))
        guard let year = scanner.number(digits: 4), scanner.skip("-"),
            let month = scanner.number(digits: 2), scanner.skip("-"),
            let day = scanner.number(digits: 2), scanner.skip(" ") || scanner.skip("T"),
            let hour = scanner.number(digits: 2), scanner.skip(":"),
            let minute = scanner.number(digits: 2), scanner.skip(":"),
            let second = scanner.number(digits: 2)
        else { return nil }
        var micros: Int64 = 0
        if scanner.skip(".") {
            var scale: Int64 = 100_000
            while let digit = scanner.digit() {
                micros += Int64(digit) * scale
                scale /= 10
            }
        }
        var offsetSeconds: Int64 = 0
        if !scanner.atEnd {
            let sign: Int64
            if scanner.skip("+") { sign = 1 } else if scanner.skip("-") { sign = -1 } else if scanner.skip("Z") { sign = 0 } else { return nil }
            if sign != 0 {
                guard let offsetHours = scanner.number(digits: 2) else { return nil }
                var offset = offsetHours * 3600
                if scanner.skip(":"), let offsetMinutes = scanner.number(digits: 2) { offset += offsetMinutes * 60 }
                if scanner.skip(":"), let offsetSecs = scanner.number(digits: 2) { offset += offsetSecs }
                offsetSeconds = sign * offset
            }
        }
        guard scanner.atEnd, (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        let days = CivilDate.daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        return Date(timeIntervalSince1970: Double(seconds) + Double(micros) / 1_000_000)
    }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }
        var atEnd: Bool { index == bytes.count }

        mutating func skip(_ character: Unicode.Scalar) -> Bool {
            guard index < bytes.count, bytes[index] == UInt8(ascii: character) else { return false }
            index += 1
            return true
        }

        mutating func digit() -> Int? {
            guard index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 else { return nil }
            defer { index += 1 }
            return Int(bytes[index] - 48)
        }

        mutating func number(digits: Int) -> Int64? {
            var value: Int64 = 0
            for _ in 0..<digits {
                guard let d = digit() else { return nil }
                value = value * 10 + Int64(d)
            }
            return value
        }
    }
}
