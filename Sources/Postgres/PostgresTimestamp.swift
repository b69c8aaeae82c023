import struct Foundation.Date

/// Converts between `Date` and PostgreSQL `timestamptz` text without Foundation's formatters,
/// which are slow and locale-sensitive.
enum PostgresTimestamp {
    /// `2026-11-27T05:17:45.123456Z` (microseconds: PostgreSQL's precision).
    /// Dates outside `CivilDate.supportedSeconds` are clamped into it rather than trapping;
    /// the API refuses them before they get here.
    static func format(_ date: Date) -> String {
        let interval = date.timeIntervalSince1970
        var seconds = CivilDate.clampedSeconds(interval)
        var micros = Int64(0)
        if CivilDate.isSupported(secondsSince1970: interval) {
            micros = Int64(((interval - Double(seconds)) * 1_000_000).rounded())
            if micros >= 1_000_000 { micros -= 1_000_000; seconds += 1 }
        }
        return CivilDate.dateTime(secondsSince1970: seconds) + ".\(CivilDate.zeroPadded(micros, 6))Z"
    }

    /// Parses `YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM[:SS]]][ BC]` (PostgreSQL's ISO output; a
    /// `T` separator is accepted too), years of more than four digits and BC included, so that
    /// no value a `timestamptz` column can hold fails to read. Nil for anything else, including
    /// `infinity`.
    static func parse(_ text: String) -> Date? {
        var text = text
        return text.withUTF8 { parse($0) }
    }

    /// `parse` over the text's UTF-8 bytes.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> Date? {
        guard let (seconds, micros) = instant(bytes) else { return nil }
        return Date(timeIntervalSince1970: Double(seconds) + Double(micros) / 1_000_000)
    }

    /// `parse` without the trip through `Double`: whole microseconds since 1970, exactly what
    /// the column holds (for page cursors, which must not move by a microsecond). PostgreSQL
    /// counts from 2000 in an Int64, so its last thirty years do not fit counted from 1970:
    /// those are nil rather than a trap.
    static func parseMicros(_ text: String) -> Int64? {
        var text = text
        return text.withUTF8 { parseMicros($0) }
    }

    /// `parseMicros` over the text's UTF-8 bytes.
    static func parseMicros(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard let (seconds, micros) = instant(bytes) else { return nil }
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000)
        let (total, overflowToo) = whole.addingReportingOverflow(micros)
        return overflow || overflowToo ? nil : total
    }

    /// Whole seconds since 1970 and the microseconds after them, of `parse`'s format.
    private static func instant(_ bytes: UnsafeBufferPointer<UInt8>) -> (seconds: Int64, micros: Int64)? {
        var scanner = Scanner(bytes)
        guard var year = scanner.number(digits: 4) else { return nil }
        // PostgreSQL's timestamps end at 294276 AD: two more digits at most.
        for _ in 0..<2 { if let digit = scanner.digit() { year = year * 10 + Int64(digit) } }
        guard scanner.skip("-"),
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
        if !scanner.atEnd, scanner.peek != UInt8(ascii: " ") {
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
        // Year 1 BC is year 0 of the proleptic calendar the day arithmetic uses.
        if scanner.skip(" ") {
            guard scanner.skip("B"), scanner.skip("C") else { return nil }
            year = 1 - year
        }
        guard scanner.atEnd, (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        let days = CivilDate.daysFromCivil(year: year, month: month, day: day)
        return (days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds, micros)
    }

    /// The `Date` of whole microseconds since 1970: whole seconds plus the fraction, as `parse`
    /// builds it (so a value reads as the same `Date` either way).
    static func date(micros: Int64) -> Date {
        let (seconds, fraction) = split(micros)
        return Date(timeIntervalSince1970: Double(seconds) + Double(fraction) / 1_000_000)
    }

    /// `format` of an exact instant; outside `CivilDate.supportedSeconds` it is `-infinity` or
    /// `infinity`, which sort before and after every value the API stores.
    static func format(micros: Int64) -> String {
        let (seconds, fraction) = split(micros)
        if seconds < CivilDate.supportedSeconds.lowerBound { return "-infinity" }
        if seconds > CivilDate.supportedSeconds.upperBound { return "infinity" }
        return CivilDate.dateTime(secondsSince1970: seconds) + ".\(CivilDate.zeroPadded(fraction, 6))Z"
    }

    /// Whole seconds (rounded down, before 1970 too) and the microseconds after them. No step
    /// can overflow, not even for `Int64.min`: a page cursor carries any number a client sends.
    private static func split(_ micros: Int64) -> (seconds: Int64, fraction: Int64) {
        let (seconds, fraction) = micros.quotientAndRemainder(dividingBy: 1_000_000)
        return fraction < 0 ? (seconds - 1, fraction + 1_000_000) : (seconds, fraction)
    }

    private struct Scanner {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0
        init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }
        var atEnd: Bool { index == bytes.count }
        var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

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
