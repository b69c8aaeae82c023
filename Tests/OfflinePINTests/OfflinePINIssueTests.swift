import Crypto
import Foundation
@testable import OfflinePIN
import Testing

/// Issue 14's property at the default length: of 100,000 random issues per type, every PIN the
/// registry's check lets through opens, at a random moment of its activation window, as its
/// own grant and not as another one that the lock's search reaches first.
@Suite("Offline PIN issues at the default length")
struct OfflinePINIssueTests {
    static let key = SymmetricKey(data: Data(0..<32))
    static let keys: [(version: UInt16, key: SymmetricKey)] = [(1, key), (2, OfflinePINScheme.nextKey(after: key))]
    /// Grants start within these hours (two weeks from an arbitrary hour), so the memo below
    /// holds every candidate any of their searches meets.
    static let startHours: ClosedRange<Int64> = 20_000...(20_000 + 14 * 24)

    @Test(
        "property: no PIN of 100,000 random issues per type at the default 11 digits opens as another grant",
        arguments: [OfflinePINScheme.CodeType.hourly, .daily, .oneTime])
    func noIssueOpensAsAnotherGrant(type: OfflinePINScheme.CodeType) throws {
        let digits = 11
        let memo = MaskMemo(hours: (Self.startHours.lowerBound - 48)...(Self.startHours.upperBound + 48), digits: digits)
        var random = OfflinePINTests.SplitMix(state: 14_000 + UInt64(type.rawValue))
        var skipped = 0
        for _ in 0..<100_000 {
            let grant = Self.randomGrant(type, &random)
            let pin = try OfflinePINScheme.pin(for: grant, key: Self.key, digits: digits)
            // The registry's check (version 1 issues; a version-2 grant never precedes one).
            if OfflinePINScheme.isAmbiguous(pin, for: grant, keys: [Self.keys[0]], digits: digits, masks: memo.mask) {
                skipped += 1
                continue
            }
            let first = grant.startHour * 3600 - OfflinePINScheme.driftSeconds
            let t = Int64.random(in: first..<OfflinePINScheme.activationEnd(of: grant), using: &random)
            // The lock's search, both key versions, as it runs during a key change.
            let found = OfflinePINScheme.decode(pin, at: t, keys: Self.keys, digits: digits, masks: memo.mask)
            #expect(found.first(where: \.inWindow)?.grant == grant, "\(grant)")
        }
        // The check is conservative, but at 11 digits it should almost never fire (section 9:
        // about 1.5e-6 per PIN); far more skips would mean the check or the scheme is wrong.
        #expect(skipped <= 5)
        // Every mask came from the memo's table after its first computation.
        #expect(memo.computed < memo.lookups / 10)
    }

    static func randomGrant(_ type: OfflinePINScheme.CodeType, _ random: inout OfflinePINTests.SplitMix) -> Grant {
        let start = Int64.random(in: startHours, using: &random)
        let duration: Int64 = switch type {
        case .hourly: Int64.random(in: 1...672, using: &random)
        case .daily: Int64.random(in: 29...367, using: &random) * 24
        default: 24
        }
        return Grant(type: type, keyVersion: 1, startHour: start, durationHours: duration,
                     slot: Int.random(in: 0..<type.slots, using: &random))
    }
}

/// The candidates' masks, each computed once (one HMAC) and then read from a flat table: a
/// test build is unoptimised, and 300,000 issues of about 400 candidates each would otherwise
/// take an hour of HMACs. The table is only a cache of `OfflinePINScheme.candidateMask`.
final class MaskMemo {
    let hours: ClosedRange<Int64>
    let digits: Int
    private var table: [OfflinePINScheme.CandidateMask?]
    private(set) var lookups = 0
    private(set) var computed = 0
    private static let versions = 2, types = 5, slots = 5

    init(hours: ClosedRange<Int64>, digits: Int) {
        self.hours = hours
        self.digits = digits
        table = Array(repeating: nil, count: Self.versions * Self.types * hours.count * Self.slots)
    }

    func mask(
        _ version: UInt16, _ key: SymmetricKey, _ type: OfflinePINScheme.CodeType, _ period: Int64, _ slot: Int
    ) -> OfflinePINScheme.CandidateMask {
        lookups += 1
        let base = type.keyedByHour ? hours.lowerBound : floorDiv(hours.lowerBound, 24)
        let offset = Int(period - base)
        guard (1...Self.versions).contains(Int(version)), (0..<hours.count).contains(offset) else {
            computed += 1
            return OfflinePINScheme.candidateMask(key: key, keyVersion: version, type: type, period: period, slot: slot, digits: digits)
        }
        let index = (((Int(version) - 1) * Self.types + Int(type.rawValue) - 1) * hours.count + offset) * Self.slots + slot
        if let known = table[index] { return known }
        computed += 1
        let fresh = OfflinePINScheme.candidateMask(key: key, keyVersion: version, type: type, period: period, slot: slot, digits: digits)
        table[index] = fresh
        return fresh
    }
}
