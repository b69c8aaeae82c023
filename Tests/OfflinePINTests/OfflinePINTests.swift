import Crypto
import Foundation
@testable import OfflinePIN
import Testing

typealias Grant = OfflinePINScheme.Grant

@Suite("Offline PIN scheme LCPIN1")
struct OfflinePINTests {
    static let key = SymmetricKey(data: Data(0..<32))

    struct VectorFile: Decodable {
        struct Vector: Decodable {
            let type: String
            let key_version: UInt16
            let start_hour: Int64
            let duration_hours: Int64?
            let slot: Int
            let digits: Int
            let pin: String
        }
        let key_hex: String
        let vectors: [Vector]
    }

    static let types: [String: OfflinePINScheme.CodeType] = [
        "hourly": .hourly, "daily": .daily, "one_time": .oneTime, "permanent": .permanent, "erase": .erase,
    ]

    @Test("the published test vectors (made by an independent implementation of the document) match")
    func vectors() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../docs/offline-pin-test-vectors.json").standardizedFileURL
        let file = try JSONDecoder().decode(VectorFile.self, from: Data(contentsOf: path))
        #expect(file.key_hex == Data(0..<32).map { String(format: "%02x", $0) }.joined())
        #expect(file.vectors.count >= 10)
        for vector in file.vectors {
            let grant = Grant(
                type: try #require(Self.types[vector.type]), keyVersion: vector.key_version, startHour: vector.start_hour,
                durationHours: vector.duration_hours, slot: vector.slot)
            #expect(try OfflinePINScheme.pin(for: grant, key: Self.key, digits: vector.digits) == vector.pin)
        }
    }

    @Test("a verifier never needs more than 200 MAC evaluations per attempt")
    func boundedWork() {
        let perVersion = OfflinePINScheme.CodeType.allCases.reduce(0) { total, type in
            total + type.slots * (type == .hourly ? OfflinePINScheme.activationHours : 2)
        }
        #expect(perVersion * 2 <= 200)  // the lock tries its key version and the next one
    }

    @Test("bad grants are refused at issue")
    func refusals() {
        #expect(throws: OfflinePINScheme.IssueError.invalidDuration) {
            try OfflinePINScheme.pin(for: Grant(type: .hourly, keyVersion: 1, startHour: 10, durationHours: 673, slot: 0), key: Self.key)
        }
        #expect(throws: OfflinePINScheme.IssueError.invalidDuration) {
            try OfflinePINScheme.pin(for: Grant(type: .daily, keyVersion: 1, startHour: 10, durationHours: 28 * 24, slot: 0), key: Self.key)
        }
        #expect(throws: OfflinePINScheme.IssueError.invalidSlot) {
            try OfflinePINScheme.pin(for: Grant(type: .hourly, keyVersion: 1, startHour: 10, durationHours: 2, slot: 3), key: Self.key)
        }
        #expect(throws: OfflinePINScheme.IssueError.invalidDuration) {
            try OfflinePINScheme.pin(for: Grant(type: .permanent, keyVersion: 1, startHour: 10, durationHours: 24, slot: 0), key: Self.key)
        }
    }

    /// A seeded generator, so a failing case can be replayed.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func randomGrant(_ random: inout SplitMix) -> Grant {
        let type = OfflinePINScheme.CodeType.allCases.randomElement(using: &random)!
        let start = Int64.random(in: 9_000...30_000, using: &random)
        let duration: Int64? = switch type {
        case .hourly: Int64.random(in: 1...672, using: &random)
        case .daily: Int64.random(in: 29...367, using: &random) * 24
        case .oneTime, .erase: 24
        case .permanent: nil
        }
        return Grant(type: type, keyVersion: 1, startHour: start, durationHours: duration, slot: Int.random(in: 0..<type.slots, using: &random))
    }

    static func date(hour: Int64, minute: Int = 0) -> Date {
        OfflinePINScheme.epoch.addingTimeInterval(Double(hour) * 3600 + Double(minute) * 60)
    }

    /// Outside its window a PIN never stands for its own grant. By chance (about 1e-4 per
    /// attempt, the scheme's false-accept rate) it can decode as some other grant, exactly as a
    /// random guess can; those are counted and bounded, not forbidden.
    @Test("property: a PIN opens its own lock inside its window, and not before, after, or at another lock")
    func windows() throws {
        var random = SplitMix(state: 20_261_127)
        let otherKey = SymmetricKey(data: Data((0..<32).map { UInt8(255 - $0) }))
        var outsideAttempts = 0
        var chanceAccepts = 0
        func outside(_ outcome: OfflineLockVerifier.Outcome, _ grant: Grant) {
            outsideAttempts += 1
            switch outcome {
            case .rejected: break
            case .unlocked(let other), .erased(let other):
                #expect(other != grant, "a PIN opened for its own grant outside its window: \(grant)")
                chanceAccepts += 1
            }
        }
        for _ in 0..<3000 {
            let grant = Self.randomGrant(&random)
            let pin = try OfflinePINScheme.pin(for: grant, key: Self.key)
            let firstUse = grant.startHour + Int64.random(in: 0..<min(24, grant.durationHours ?? 24), using: &random)

            var lock = OfflineLockVerifier(key: Self.key, keyVersion: 1)
            let opened = lock.enter(pin, at: Self.date(hour: firstUse, minute: 30))
            if grant.type == .erase {
                #expect(opened == .erased(grant))
                continue
            }
            #expect(opened == .unlocked(grant), "\(grant)")

            var early = OfflineLockVerifier(key: Self.key, keyVersion: 1)
            outside(early.enter(pin, at: Self.date(hour: grant.startHour - 1, minute: 59)), grant)

            var late = OfflineLockVerifier(key: Self.key, keyVersion: 1)
            outside(late.enter(pin, at: Self.date(hour: grant.startHour + 24, minute: 1)), grant)

            if let end = grant.end, grant.type != .oneTime {
                #expect(lock.enter(pin, at: end.addingTimeInterval(-60)) == .unlocked(grant))
                outside(lock.enter(pin, at: end), grant)
            }

            var stranger = OfflineLockVerifier(key: otherKey, keyVersion: 1)
            outside(stranger.enter(pin, at: Self.date(hour: firstUse, minute: 30)), grant)
        }
        // ~11,000 outside attempts × ~1e-4: expect about one; allow a few.
        #expect(outsideAttempts > 8000)
        #expect(chanceAccepts <= 6)
    }

    @Test("one-time codes work once")
    func oneTime() throws {
        let grant = Grant(type: .oneTime, keyVersion: 1, startHour: 12_000, durationHours: 24, slot: 2)
        let pin = try OfflinePINScheme.pin(for: grant, key: Self.key)
        var lock = OfflineLockVerifier(key: Self.key, keyVersion: 1)
        #expect(lock.enter(pin, at: Self.date(hour: 12_003)) == .unlocked(grant))
        #expect(lock.enter(pin, at: Self.date(hour: 12_004)) == .rejected)
    }

    @Test("a permanent code must be first used within 24 hours, then works for good")
    func permanent() throws {
        let grant = Grant(type: .permanent, keyVersion: 1, startHour: 12_000, durationHours: nil, slot: 0)
        let pin = try OfflinePINScheme.pin(for: grant, key: Self.key)
        var lock = OfflineLockVerifier(key: Self.key, keyVersion: 1)
        #expect(lock.enter(pin, at: Self.date(hour: 12_023)) == .unlocked(grant))
        #expect(lock.enter(pin, at: Self.date(hour: 30_000)) == .unlocked(grant))
        var tooLate = OfflineLockVerifier(key: Self.key, keyVersion: 1)
        #expect(tooLate.enter(pin, at: Self.date(hour: 12_024)) == .rejected)
    }

    @Test("property: after an erase code, every earlier code of any type fails, activated or not")
    func eraseAnyType() throws {
        var random = SplitMix(state: 11)
        for _ in 0..<1000 {
            // An earlier code of a random type, activated at the lock or not, then an erase code
            // typed inside both windows: the earlier code never opens again.
            var grant = Self.randomGrant(&random)
            while grant.type == .erase { grant = Self.randomGrant(&random) }
            let pin = try OfflinePINScheme.pin(for: grant, key: Self.key)
            var lock = OfflineLockVerifier(key: Self.key, keyVersion: 1)
            let activate = Bool.random(using: &random)
            if activate { #expect(lock.enter(pin, at: Self.date(hour: grant.startHour, minute: 10)) == .unlocked(grant)) }
            let erase = Grant(type: .erase, keyVersion: 1, startHour: grant.startHour, durationHours: 24, slot: 0)
            let erasePIN = try OfflinePINScheme.pin(for: erase, key: Self.key)
            #expect(lock.enter(erasePIN, at: Self.date(hour: grant.startHour, minute: 20)) == .erased(erase))
            let outcome = lock.enter(pin, at: Self.date(hour: grant.startHour, minute: 30))
            if case .unlocked(let opened) = outcome { #expect(opened != grant, "\(grant) opened after erase") }
            #expect(lock.enter(erasePIN, at: Self.date(hour: grant.startHour, minute: 40)) != .erased(erase))
        }
    }

    @Test("a code removed at the lock never opens again; others still do")
    func removal() throws {
        let kept = Grant(type: .hourly, keyVersion: 1, startHour: 14_000, durationHours: 10, slot: 0)
        let activated = Grant(type: .hourly, keyVersion: 1, startHour: 14_000, durationHours: 10, slot: 1)
        let notYetUsed = Grant(type: .daily, keyVersion: 1, startHour: 14_000, durationHours: 30 * 24, slot: 0)
        let keptPIN = try OfflinePINScheme.pin(for: kept, key: Self.key)
        let activatedPIN = try OfflinePINScheme.pin(for: activated, key: Self.key)
        let notYetUsedPIN = try OfflinePINScheme.pin(for: notYetUsed, key: Self.key)
        var lock = OfflineLockVerifier(key: Self.key, keyVersion: 1)
        let now = Self.date(hour: 14_001)
        #expect(lock.enter(activatedPIN, at: now) == .unlocked(activated))
        #expect(lock.remove(activatedPIN, at: now) == activated)
        #expect(lock.remove(notYetUsedPIN, at: now) == notYetUsed)
        #expect(lock.revoked == [activated, notYetUsed])
        #expect(lock.enter(activatedPIN, at: now) == .rejected)
        #expect(lock.enter(notYetUsedPIN, at: now) == .rejected)
        #expect(lock.enter(keptPIN, at: now) == .unlocked(kept))
        // Removed codes are forgotten once they end: memory stays bounded.
        _ = lock.enter(keptPIN, at: Self.date(hour: 14_011))
        #expect(!lock.revoked.contains(activated))
    }

    @Test("advancing the searched key version keeps activated codes and accepts the next version")
    func advance() throws {
        let old = Grant(type: .hourly, keyVersion: 1, startHour: 16_000, durationHours: 100, slot: 0)
        let oldPIN = try OfflinePINScheme.pin(for: old, key: Self.key)
        let unused = Grant(type: .hourly, keyVersion: 1, startHour: 16_000, durationHours: 100, slot: 1)
        var lock = OfflineLockVerifier(key: Self.key, keyVersion: 1)
        #expect(lock.enter(oldPIN, at: Self.date(hour: 16_001)) == .unlocked(old))
        lock.advance(toVersion: 2)
        #expect(lock.keyVersion == 2)
        let key2 = OfflineLockVerifier.nextKey(after: Self.key)
        let key3 = OfflineLockVerifier.nextKey(after: key2)
        let newer = Grant(type: .hourly, keyVersion: 3, startHour: 16_002, durationHours: 5, slot: 0)
        #expect(lock.enter(oldPIN, at: Self.date(hour: 16_050)) == .unlocked(old))
        #expect(lock.enter(try OfflinePINScheme.pin(for: newer, key: key3), at: Self.date(hour: 16_003)) == .unlocked(newer))
        // A version-1 code never entered is no longer searched.
        #expect(lock.enter(try OfflinePINScheme.pin(for: unused, key: Self.key), at: Self.date(hour: 16_004)) != .unlocked(unused))
        lock.advance(toVersion: 1)  // never backwards
        #expect(lock.keyVersion == 2)
    }

    @Test("property: after an erase code, every earlier code fails and later ones work")
    func erase() throws {
        var random = SplitMix(state: 7)
        for _ in 0..<200 {
            let start = Int64.random(in: 10_000...20_000, using: &random)
            let old = Grant(type: .hourly, keyVersion: 1, startHour: start, durationHours: 600, slot: 0)
            let oldPIN = try OfflinePINScheme.pin(for: old, key: Self.key)
            var lock = OfflineLockVerifier(key: Self.key, keyVersion: 1)
            #expect(lock.enter(oldPIN, at: Self.date(hour: start + 1)) == .unlocked(old))

            let erase = Grant(type: .erase, keyVersion: 1, startHour: start + 2, durationHours: 24, slot: 0)
            #expect(lock.enter(try OfflinePINScheme.pin(for: erase, key: Self.key), at: Self.date(hour: start + 3)) == .erased(erase))
            #expect(lock.enter(oldPIN, at: Self.date(hour: start + 4)) == .rejected)
            #expect(lock.keyVersion == 2)

            let next = OfflineLockVerifier.nextKey(after: Self.key)
            let fresh = Grant(type: .hourly, keyVersion: 2, startHour: start + 4, durationHours: 10, slot: 1)
            #expect(lock.enter(try OfflinePINScheme.pin(for: fresh, key: next), at: Self.date(hour: start + 5)) == .unlocked(fresh))
        }
    }

    @Test("five wrong PINs lock the keypad out, for longer each time; a right one resets the count")
    func lockout() throws {
        var keypad = KeypadFailureBudget()
        let now = Self.date(hour: 15_000)
        for _ in 0..<4 { keypad.record(accepted: false, at: now) }
        #expect(keypad.lockedOut(at: now) == nil)
        keypad.record(accepted: false, at: now)
        #expect(keypad.lockedOut(at: now.addingTimeInterval(60)) == now.addingTimeInterval(900))
        #expect(keypad.lockedOut(at: now.addingTimeInterval(900)) == nil)
        let afterFirst = now.addingTimeInterval(901)
        for _ in 0..<5 { keypad.record(accepted: false, at: afterFirst) }
        #expect(keypad.lockedOut(at: afterFirst) == afterFirst.addingTimeInterval(1800))
        // Many lockouts in a row stay at the 24-hour cap (and never overflow).
        var later = afterFirst
        for _ in 0..<40 {
            later = later.addingTimeInterval(2 * 86_400)
            for _ in 0..<5 { keypad.record(accepted: false, at: later) }
        }
        #expect(keypad.lockedOut(at: later) == later.addingTimeInterval(86_400))
        keypad.record(accepted: true, at: later.addingTimeInterval(86_400))
        #expect(keypad.lockouts == 0 && keypad.failedAttempts == 0)
    }

    @Test("random guesses almost never open a lock (measured false-accept rate)")
    func guesses() {
        var random = SplitMix(state: 99)
        var lock = OfflineLockVerifier(key: Self.key, keyVersion: 1)
        var accepted = 0
        let tries = 20_000
        for i in 0..<tries {
            let guess = String(UInt64.random(in: 0..<1_000_000_000, using: &random))
            let padded = String(repeating: "0", count: 9 - guess.count) + guess
            // A new hour each time keeps the lockout out of the measurement.
            if case .unlocked = lock.enter(padded, at: Self.date(hour: 20_000 + Int64(i) * 3)) { accepted += 1 }
        }
        // Expected about 9.8e-5 per guess (docs/offline-pin-scheme.md): ~2 in 20,000.
        #expect(accepted <= 12)
    }
}
