import Foundation
import OfflinePIN

/// The kinds of offline code, by their API names.
public enum OfflineCodeKind: String, Sendable, CaseIterable {
    case hourlyBound = "hourly_bound"
    case dailyBound = "daily_bound"
    case oneTimeUse = "one_time_use"
    case permanent
    case erase

    public var schemeType: OfflinePINScheme.CodeType {
        OfflinePINScheme.CodeType.allCases.first { $0.apiName == rawValue }!  // same names by construction
    }

    public init(_ type: OfflinePINScheme.CodeType) {
        self.init(rawValue: type.apiName)!  // the two name lists are the same by construction
    }
}

/// How far the API may move a requested time to fit the scheme's grid (`max_time_rounding`).
public enum MaxTimeRounding: Sendable {
    case hour, day

    /// `1h`/`1hour` or `1d`/`1day`; nil for anything else.
    public init?(apiValue: String) {
        switch apiValue {
        case "1h", "1hour": self = .hour
        case "1d", "1day": self = .day
        default: return nil
        }
    }

    var seconds: TimeInterval { self == .hour ? 3600 : 86400 }
}

/// A requested offline code window turned into what the scheme can encode: the type (inferred
/// as the contract says), the start on a whole hour, the duration in whole hours (whole days
/// with the same time of day for daily-bound codes). Pure: the clock is a parameter.
public struct OfflineSchedule: Sendable, Equatable {
    public static let hourlyMaxHours: Int64 = 672
    public static let dailyDays: ClosedRange<Int64> = 29...367
    /// One-time-use and erase codes last exactly this long from their start.
    public static let fixedWindowHours: Int64 = 24

    /// The durations `plan` accepts for `kind`, in hours, and the step between them (nil for a
    /// fixed window); nil for permanent codes, which have no end. The lock capabilities
    /// (`offline_time_frame_options`) are written from this, so they cannot drift from `plan`.
    public static func allowedHours(_ kind: OfflineCodeKind) -> (range: ClosedRange<Int64>, step: Int64?)? {
        switch kind {
        case .hourlyBound: return (1...hourlyMaxHours, 1)
        case .dailyBound: return (dailyDays.lowerBound * 24...dailyDays.upperBound * 24, 24)
        case .oneTimeUse, .erase: return (fixedWindowHours...fixedWindowHours, nil)
        case .permanent: return nil
        }
    }

    public let kind: OfflineCodeKind
    /// Hours since the scheme epoch.
    public let startHour: Int64
    /// nil for permanent codes.
    public let durationHours: Int64?
    public let warnings: [AccessCode.Issue]

    public var startsAt: Date { OfflinePINScheme.epoch.addingTimeInterval(Double(startHour) * 3600) }
    public var endsAt: Date? { durationHours.map { startsAt.addingTimeInterval(Double($0) * 3600) } }
    /// The last moment the code can be typed for the first time (scheme section 5).
    public var activationEndsAt: Date {
        let window = startsAt.addingTimeInterval(Double(OfflinePINScheme.activationHours) * 3600)
        return endsAt.map { min($0, window) } ?? window
    }

    public struct Request: Sendable {
        public var kind: OfflineCodeKind?
        public var isOneTimeUse: Bool
        public var startsAt: Date?
        public var endsAt: Date?
        public var maxTimeRounding: MaxTimeRounding

        public init(kind: OfflineCodeKind?, isOneTimeUse: Bool, startsAt: Date?, endsAt: Date?, maxTimeRounding: MaxTimeRounding) {
            self.kind = kind
            self.isOneTimeUse = isOneTimeUse
            self.startsAt = startsAt
            self.endsAt = endsAt
            self.maxTimeRounding = maxTimeRounding
        }
    }

    public static func plan(_ request: Request, now: Date) throws -> OfflineSchedule {
        guard let requestedStart = request.startsAt else {
            throw AccessCodeError.invalidOfflineSchedule("starts_at is required for an offline code.")
        }
        if request.isOneTimeUse, let kind = request.kind, kind != .oneTimeUse {
            throw AccessCodeError.invalidOfflineSchedule("is_one_time_use contradicts offline_access_code_type \(kind.rawValue).")
        }
        if let requestedEnd = request.endsAt, requestedEnd <= requestedStart {
            throw AccessCodeError.invalidTimeRange("ends_at must be after starts_at.")
        }
        if let requestedEnd = request.endsAt, requestedEnd <= now {
            throw AccessCodeError.invalidTimeRange("ends_at is in the past.")
        }
        // Every window starts on a whole hour: round the start down (less than an hour, so
        // within either rounding allowance).
        let startHour = hours(since: requestedStart).rounded(.down)
        let start = Int64(startHour)
        var warnings: [AccessCode.Issue] = []

        let kind: OfflineCodeKind
        let duration: Int64?
        switch request.kind ?? (request.isOneTimeUse ? .oneTimeUse : nil) {
        case .oneTimeUse?, .erase?:
            kind = request.kind ?? .oneTimeUse
            // Fixed 24-hour window; an ends_at, if sent, must agree after hour rounding.
            if let requestedEnd = request.endsAt, Int64(hours(since: requestedEnd).rounded(.up)) != start + fixedWindowHours {
                throw AccessCodeError.invalidOfflineSchedule(
                    "A \(kind.rawValue) code lasts exactly \(fixedWindowHours) hours from starts_at; leave ends_at out or send starts_at + \(fixedWindowHours) h.")
            }
            duration = fixedWindowHours
        case .permanent?:
            guard request.endsAt == nil else {
                throw AccessCodeError.invalidOfflineSchedule("A permanent code has no ends_at.")
            }
            kind = .permanent
            duration = nil
        case let explicit:
            guard let requestedEnd = request.endsAt else {
                throw AccessCodeError.invalidOfflineSchedule("ends_at is required for an hourly- or daily-bound offline code.")
            }
            let hourly = Int64(hours(since: requestedEnd).rounded(.up)) - start
            kind = hourly <= hourlyMaxHours ? .hourlyBound : .dailyBound
            if let explicit, explicit != kind {
                throw AccessCodeError.invalidOfflineDuration(
                    explicit == .hourlyBound
                        ? "An hourly-bound offline code lasts 1 to \(hourlyMaxHours) hours."
                        : "A daily-bound offline code lasts \(dailyDays.lowerBound) to \(dailyDays.upperBound) days.")
            }
            duration =
                kind == .hourlyBound
                ? hourly : try dailyDuration(start: start, requestedEnd: requestedEnd, rounding: request.maxTimeRounding)
        }

        let schedule = OfflineSchedule(kind: kind, startHour: start, durationHours: duration, warnings: [])
        guard schedule.activationEndsAt > now else {
            throw AccessCodeError.invalidOfflineSchedule(
                "This code could no longer be used for the first time: offline codes must first be entered within 24 hours of starts_at (and before ends_at).")
        }
        if schedule.startsAt != requestedStart || (request.endsAt.map { $0 != schedule.endsAt } ?? false) {
            warnings.append(.init(
                code: "OFFLINE_TIMES_ROUNDED",
                message: "starts_at and ends_at were rounded to the whole hours (whole days for daily-bound codes) the lock can verify."))
        }
        if (duration ?? Int64.max) > Int64(OfflinePINScheme.activationHours) {
            warnings.append(.init(
                code: "OFFLINE_ACTIVATION_WINDOW",
                message: "Enter this code at the lock for the first time before \(schedule.activationEndsAt.formatted(.iso8601)) (24 hours after starts_at); a code never entered by then will not open the lock."))
        }
        if kind == .dailyBound {
            warnings.append(.init(
                code: "OFFLINE_UTC_DAYS",
                message: "This code counts whole days in UTC: it ends at \(schedule.endsAt?.formatted(.iso8601) ?? "") UTC, the same UTC time of day as it starts, so across a daylight-saving change it ends an hour off the local time of its start."))
        }
        return OfflineSchedule(kind: kind, startHour: start, durationHours: duration, warnings: warnings)
    }

    /// A daily-bound window: whole days with the same time of day at both ends, so the end moves
    /// to the nearest such moment (never under 29 days); the move must fit `max_time_rounding`.
    static func dailyDuration(start: Int64, requestedEnd: Date, rounding: MaxTimeRounding) throws -> Int64 {
        let startDate = OfflinePINScheme.epoch.addingTimeInterval(Double(start) * 3600)
        let days = max(dailyDays.lowerBound, Int64((requestedEnd.timeIntervalSince(startDate) / 86400).rounded()))
        guard days <= dailyDays.upperBound else {
            throw AccessCodeError.invalidOfflineDuration("A daily-bound offline code lasts \(dailyDays.lowerBound) to \(dailyDays.upperBound) days.")
        }
        let roundedEnd = startDate.addingTimeInterval(Double(days) * 86400)
        let moved = abs(roundedEnd.timeIntervalSince(requestedEnd))
        guard moved <= rounding.seconds else {
            throw AccessCodeError.maxTimeRoundingExceeded(
                "A daily-bound code ends at the same time of day as it starts; that moves ends_at by \(Int((moved / 60).rounded(.up))) minutes, more than max_time_rounding allows (send max_time_rounding 1d to accept it).")
        }
        return days * 24
    }

    static func hours(since date: Date) -> Double {
        date.timeIntervalSince(OfflinePINScheme.epoch) / 3600
    }
}
