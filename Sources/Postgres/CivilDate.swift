/// Proleptic Gregorian dates as day counts since 1970-01-01, without Foundation's calendars
/// (slow, and they roll invalid dates over instead of refusing them). After Howard Hinnant's
/// `days_from_civil` and `civil_from_days` algorithms.
public enum CivilDate {
    /// 0001-01-01T00:00:00Z through 9999-12-31T23:59:59Z, in seconds since 1970: the instants
    /// the API accepts and stores. RFC 3339 writes four-digit years, and PostgreSQL's
    /// `timestamptz` reaches further (4713 BC to 294276 AD), so a wider value would be stored
    /// and then fail to come back out as RFC 3339.
    public static let supportedSeconds: ClosedRange<Int64> =
        (daysFromCivil(year: 1, month: 1, day: 1) * 86_400)...(daysFromCivil(year: 9999, month: 12, day: 31) * 86_400 + 86_399)

    /// Whole seconds since 1970 of a Foundation time interval, clamped into `supportedSeconds`
    /// (NaN to the start), so converting any `Date` can never trap. Callers refuse values
    /// outside the range before this is reached; the clamp only keeps a bug from being a crash.
    public static func clampedSeconds(_ interval: Double) -> Int64 {
        guard interval.isFinite else { return interval > 0 ? supportedSeconds.upperBound : supportedSeconds.lowerBound }
        let whole = interval.rounded(.down)
        if whole <= Double(supportedSeconds.lowerBound) { return supportedSeconds.lowerBound }
        if whole >= Double(supportedSeconds.upperBound) { return supportedSeconds.upperBound }
        return Int64(whole)
    }

    public static func isSupported(secondsSince1970 interval: Double) -> Bool {
        interval.isFinite && interval >= Double(supportedSeconds.lowerBound) && interval < Double(supportedSeconds.upperBound + 1)
    }

    public static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    public static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// `YYYY-MM-DDTHH:MM:SS` (UTC) of whole seconds since 1970, before it as well.
    public static func dateTime(secondsSince1970 seconds: Int64) -> String {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = civil(fromDays: days)
        return "\(zeroPadded(year, 4))-\(zeroPadded(month, 2))-\(zeroPadded(day, 2))T\(zeroPadded(secondOfDay / 3600, 2)):"
            + "\(zeroPadded(secondOfDay / 60 % 60, 2)):\(zeroPadded(secondOfDay % 60, 2))"
    }

    public static func zeroPadded(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
