import Foundation

/// The times a lock may report (`device_time`, `occurred_at`). Wide on purpose: a lock whose
/// real-time clock lost power can read 1970, and one whose clock runs fast can be years ahead,
/// and both must still be heard (their heartbeats keep them online). What lies outside is not
/// a clock reading but garbage, and refusing it keeps every stored time readable.
enum DeviceTimeWindow {
    /// 1970-01-01T00:00:00Z, the earliest an embedded clock counts from.
    static let earliest = Date(timeIntervalSince1970: 0)
    static let earliestText = "1970-01-01T00:00:00Z"
    static let futureYears = 5

    static func contains(_ date: Date, now: Date) -> Bool {
        date >= earliest && date <= now.addingTimeInterval(Double(futureYears) * 365.25 * 86_400)
    }
}
