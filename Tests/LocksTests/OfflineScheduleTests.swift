import Foundation
@testable import Locks
import Crypto
import OfflinePIN
import Testing

@Suite("Offline code schedules: type inference and rounding")
struct OfflineScheduleTests {
    /// 2026-06-01T10:00:00Z, a whole hour.
    static let now = Date(timeIntervalSince1970: 1_780_308_000)

    static func plan(
        start: TimeInterval, end: TimeInterval?, kind: OfflineCodeKind? = nil, oneTime: Bool = false,
        rounding: MaxTimeRounding = .hour
    ) throws -> OfflineSchedule {
        try OfflineSchedule.plan(
            .init(
                kind: kind, isOneTimeUse: oneTime, startsAt: now.addingTimeInterval(start),
                endsAt: end.map { now.addingTimeInterval($0) }, maxTimeRounding: rounding),
            now: now)
    }

    @Test("the contract's inference: one-time if asked, hourly up to 672 hours, daily beyond")
    func inference() throws {
        #expect(try Self.plan(start: 0, end: 3600).kind == .hourlyBound)
        #expect(try Self.plan(start: 0, end: 672 * 3600).kind == .hourlyBound)
        #expect(try Self.plan(start: 0, end: 673 * 3600, rounding: .day).kind == .dailyBound)
        #expect(try Self.plan(start: 0, end: nil, oneTime: true).kind == .oneTimeUse)
        #expect(try Self.plan(start: 0, end: nil, kind: .permanent).endsAt == nil)
        #expect(try Self.plan(start: 0, end: nil, kind: .erase).durationHours == 24)
    }

    @Test("every refusal has its error")
    func refusals() {
        #expect(throws: AccessCodeError.invalidOfflineSchedule("starts_at is required for an offline code.")) {
            try OfflineSchedule.plan(.init(kind: nil, isOneTimeUse: false, startsAt: nil, endsAt: Self.now, maxTimeRounding: .hour), now: Self.now)
        }
        #expect(throws: AccessCodeError.self) { try Self.plan(start: 0, end: nil) }  // hourly without end
        #expect(throws: AccessCodeError.invalidOfflineDuration("A daily-bound offline code lasts 29 to 367 days.")) {
            try Self.plan(start: 0, end: 368 * 86400)
        }
        #expect(throws: AccessCodeError.self) { try Self.plan(start: 0, end: 2 * 3600, oneTime: true) }
        #expect(throws: AccessCodeError.self) { try Self.plan(start: 0, end: 86400, kind: .permanent) }
        #expect(throws: AccessCodeError.self) { try Self.plan(start: -25 * 3600, end: 10 * 86400) }
        #expect(throws: AccessCodeError.self) { try Self.plan(start: 0, end: 40 * 86400 + 2 * 3600) }
        #expect(throws: AccessCodeError.invalidTimeRange("ends_at must be after starts_at.")) {
            try Self.plan(start: 3600, end: 3600)
        }
    }

    @Test("property: a planned window is what the scheme can encode and moves the request by at most the allowance")
    func property() throws {
        var planned = 0
        for i in 0..<5000 {
            // A deterministic scatter (multiplicative steps modulo primes) over starts from 20 hours
            // ago to 90 days ahead and lengths from a minute to 370 days, seconds included.
            let start = Double((i * 7_919) % 7_848_001) - 72_000
            let length = 60 + Double((i * 104_729) % 31_967_981)
            let rounding: MaxTimeRounding = i % 2 == 0 ? .hour : .day
            guard let schedule = try? Self.plan(start: start, end: start + length, rounding: rounding) else { continue }
            planned += 1
            let requestedStart = Self.now.addingTimeInterval(start)
            let requestedEnd = requestedStart.addingTimeInterval(length)
            let end = try #require(schedule.endsAt)
            // Start: the whole hour at or before the request.
            #expect(schedule.startsAt <= requestedStart && requestedStart.timeIntervalSince(schedule.startsAt) < 3600)
            #expect(abs(end.timeIntervalSince(requestedEnd)) <= (rounding == .hour ? 3600 : 86400))
            let hours = try #require(schedule.durationHours)
            switch schedule.kind {
            case .hourlyBound: #expect((1...672).contains(hours))
            case .dailyBound:
                #expect(hours % 24 == 0 && (29...367).contains(hours / 24))
            default: Issue.record("unexpected kind \(schedule.kind)")
            }
            // Every planned code is one the scheme issues, and it can still be activated.
            let grant = OfflinePINScheme.Grant(
                type: schedule.kind.schemeType, keyVersion: 1, startHour: schedule.startHour, durationHours: hours, slot: 0)
            _ = try OfflinePINScheme.pin(for: grant, key: .init(size: .bits256))
            #expect(schedule.activationEndsAt > Self.now)
            #expect(schedule.warnings.contains { $0.code == "OFFLINE_ACTIVATION_WINDOW" } == (hours > 24))
        }
        #expect(planned > 2000)
    }
}
