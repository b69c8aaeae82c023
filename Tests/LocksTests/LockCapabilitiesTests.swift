import Crypto
import Foundation
@testable import Locks
import OfflinePIN
import Testing

/// The advertised offline time frame options are the registry's rules: `OfflineSchedule.plan`
/// and the PIN scheme accept each advertised minimum and maximum and refuse one step outside.
@Suite("Lock capabilities: offline time frame options are the registry's own limits")
struct LockCapabilitiesTests {
    static let now = Date(timeIntervalSince1970: 1_780_308_000)  // 2026-06-01T10:00:00Z

    static func plan(_ kind: OfflineCodeKind, hours: Int64) throws -> OfflineSchedule {
        let start = now.addingTimeInterval(3600)
        return try OfflineSchedule.plan(
            .init(kind: kind, isOneTimeUse: false, startsAt: start,
                  endsAt: start.addingTimeInterval(Double(hours) * 3600), maxTimeRounding: .hour),
            now: now)
    }

    @Test("every bounded option: min and max are planned as that kind, one step outside is refused")
    func boundsMatchThePlanner() throws {
        for option in OfflineTimeFrameOption.all {
            guard let low = option.minDurationHours, let high = option.maxDurationHours else {
                #expect(option.kind == .permanent)
                continue
            }
            let step = option.durationStepHours ?? 1
            for hours in [low, high] {
                let schedule = try Self.plan(option.kind, hours: hours)
                #expect(schedule.kind == option.kind && schedule.durationHours == hours, "\(option.kind) \(hours) h")
            }
            for hours in [low - step, high + step] where hours > 0 {
                #expect(throws: AccessCodeError.self, "\(option.kind) \(hours) h") { try Self.plan(option.kind, hours: hours) }
            }
        }
    }

    @Test("the PIN scheme encodes the advertised min and max and nothing one step outside")
    func boundsMatchTheScheme() throws {
        let key = SymmetricKey(size: .bits256)
        for option in OfflineTimeFrameOption.all {
            func pin(_ hours: Int64?) throws -> String {
                try OfflinePINScheme.pin(
                    for: .init(type: option.kind.schemeType, keyVersion: 1, startHour: 24 * 900, durationHours: hours, slot: 0),
                    key: key)
            }
            guard let low = option.minDurationHours, let high = option.maxDurationHours else {
                _ = try pin(nil)
                continue
            }
            let step = option.durationStepHours ?? 1
            _ = try pin(low)
            _ = try pin(high)
            #expect(throws: OfflinePINScheme.IssueError.invalidDuration) { try pin(low - step) }
            #expect(throws: OfflinePINScheme.IssueError.invalidDuration) { try pin(high + step) }
        }
    }

    @Test("per-period limits and periods come from the scheme; durations print as ISO 8601")
    func shape() {
        let options = Dictionary(uniqueKeysWithValues: OfflineTimeFrameOption.all.map { ($0.kind, $0) })
        #expect(options.count == OfflineCodeKind.allCases.count)
        #expect(options[.hourlyBound]?.maxCodesPerPeriod == 3 && options[.hourlyBound]?.periodIsHour == true)
        #expect(options[.dailyBound]?.maxCodesPerPeriod == 3 && options[.dailyBound]?.periodIsHour == false)
        #expect(options[.oneTimeUse]?.maxCodesPerPeriod == 5 && options[.oneTimeUse]?.isOneTimeUse == true)
        #expect(options[.erase]?.maxCodesPerPeriod == 1)
        #expect(options[.hourlyBound]!.iso8601(hours: 672) == "PT672H")
        #expect(options[.dailyBound]!.iso8601(hours: 29 * 24) == "P29D")
        #expect(options[.dailyBound]!.iso8601(hours: 24) == "P1D")
        #expect(options[.oneTimeUse]!.iso8601(hours: 24) == "PT24H")
    }

    @Test("a model without offline codes offers no options; code lengths are the whole range")
    func onlineOnly() {
        let model = LockCapabilities(
            canRemotelyLock: true, canRemotelyUnlock: false, canProgramOnlineAccessCodes: true,
            canProgramOfflineAccessCodes: false, codeLengthMin: 4, codeLengthMax: 8, maxAccessCodes: 50, offlinePinLength: nil)
        #expect(model.offlineTimeFrameOptions.isEmpty)
        #expect(model.supportedCodeLengths == [4, 5, 6, 7, 8])
        #expect(model.allows(action: "lock") && !model.allows(action: "unlock"))
    }
}
