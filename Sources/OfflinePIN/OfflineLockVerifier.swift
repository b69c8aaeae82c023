import Crypto
import Foundation

/// The lock side of the scheme (docs/offline-pin-scheme.md section 5): decides on a typed PIN
/// with its own clock and its persistent `State`, and never talks to the server. Everything a
/// decision depends on is in `state`, which a lock writes to non-volatile memory before the door
/// opens; a verifier rebuilt from a saved state after a power cut decides exactly as before.
/// The keypad's `KeypadFailureBudget` is applied by the caller, around every PIN.
public struct OfflineLockVerifier: Sendable {
    public enum Refusal: String, Sendable, Codable {
        case noMatch = "no_match"
        case outsideWindow = "outside_window"
        case reactivation
        case alreadyUsed = "already_used"
        case lockedOut = "locked_out"
        case clockUnset = "clock_unset"
    }

    public enum Outcome: Sendable, Equatable {
        case unlocked(OfflinePINScheme.Grant)
        /// An erase code: every offline code of its key version or older is revoked.
        case erased(OfflinePINScheme.Grant)
        case rejected(Refusal)
    }

    public struct Activated: Sendable, Codable, Equatable {
        public let pin: String
        public let grant: OfflinePINScheme.Grant
        public var used: Bool
    }

    /// What a lock keeps in non-volatile memory (section 5.1).
    public struct State: Sendable, Codable, Equatable {
        public internal(set) var keyVersion: UInt16
        var key: Data
        public let digits: Int
        public internal(set) var activated: [Activated] = []
        /// Slots activated or deny-listed, with the time (seconds) their period stops being searched.
        public internal(set) var spent: [OfflinePINScheme.Slot: Int64] = [:]
        /// Grants removed at the lock (over Bluetooth) before their end.
        public internal(set) var revoked: [OfflinePINScheme.Grant] = []
        /// The latest time (seconds since the epoch) the lock has used: time never goes back.
        public internal(set) var timeFloor: Int64 = .min
        /// False after the real-time clock lost power, until the gateway or the app sets it.
        public internal(set) var clockSet = true
    }

    public static let maxActivated = 199

    public private(set) var state: State
    public var digits: Int { state.digits }
    public var keyVersion: UInt16 { state.keyVersion }
    public var activated: [Activated] { state.activated }
    public var revoked: [OfflinePINScheme.Grant] { state.revoked }

    public init(key: SymmetricKey, keyVersion: UInt16, digits: Int = 11) {
        state = State(keyVersion: keyVersion, key: key.withUnsafeBytes { Data($0) }, digits: digits)
    }

    /// A lock starting from its saved state (after a power cycle).
    public init(state: State) { self.state = state }

    private var key: SymmetricKey { SymmetricKey(data: state.key) }

    /// The two key versions the lock searches: its own and the next (section 1).
    private var searchedKeys: [(version: UInt16, key: SymmetricKey)] {
        [(state.keyVersion, key), (state.keyVersion &+ 1, OfflinePINScheme.nextKey(after: key))]
    }

    public static func nextKey(after key: SymmetricKey) -> SymmetricKey { OfflinePINScheme.nextKey(after: key) }

    /// The lock's time for a clock reading: never before the floor, which it then raises.
    public mutating func time(_ clock: Date) -> Int64 {
        let t = max(OfflinePINScheme.seconds(clock), state.timeFloor)
        state.timeFloor = t
        return t
    }

    /// The real-time clock lost power: no time-bound decision until the clock is set again.
    public mutating func clockLost() { state.clockSet = false }

    /// The gateway or the app set the clock (authenticated); the floor still holds.
    public mutating func clockSet(to clock: Date) {
        state.clockSet = true
        _ = time(clock)
    }

    /// Decides on a typed PIN that is not one of the lock's online codes (section 5.3, steps 1,
    /// 2, 4-6): the keypad is not locked out.
    public mutating func enter(_ pin: String, at clock: Date) -> Outcome {
        let t = time(clock)
        forgetEnded(at: t)
        if let exact = exactMatch(pin, at: t) { return exact }
        guard state.clockSet else { return .rejected(.clockUnset) }
        return search(pin, at: t)
    }

    /// During a lockout: activated codes only, by exact match (section 5.2).
    public mutating func enterActivatedOnly(_ pin: String, at clock: Date) -> Outcome {
        let t = time(clock)
        forgetEnded(at: t)
        return exactMatch(pin, at: t) ?? .rejected(.lockedOut)
    }

    private mutating func exactMatch(_ pin: String, at t: Int64) -> Outcome? {
        guard let index = state.activated.firstIndex(where: { $0.pin == pin }) else { return nil }
        let entry = state.activated[index]
        if !state.clockSet, entry.grant.type != .permanent { return .rejected(.clockUnset) }
        guard OfflinePINScheme.inWindow(entry.grant, at: t, activated: true) else { return .rejected(.outsideWindow) }
        guard !entry.used else { return .rejected(.alreadyUsed) }
        if entry.grant.type == .oneTime { state.activated[index].used = true }
        return .unlocked(entry.grant)
    }

    private mutating func search(_ pin: String, at t: Int64) -> Outcome {
        let decoded = OfflinePINScheme.decode(pin, at: t, keys: searchedKeys, digits: state.digits)
        guard let match = decoded.first(where: { $0.inWindow && state.spent[$0.slot] == nil }) else {
            if decoded.contains(where: { $0.inWindow }) { return .rejected(.reactivation) }
            return .rejected(decoded.isEmpty ? .noMatch : .outsideWindow)
        }
        let grant = match.grant
        state.spent[match.slot] = Self.searchEnd(of: match.slot)
        if grant.type == .erase {
            // Retire this version and all before it; the chain gives the lock its next key.
            var key = self.key
            while state.keyVersion <= grant.keyVersion {
                key = OfflinePINScheme.nextKey(after: key)
                state.keyVersion &+= 1
            }
            state.key = key.withUnsafeBytes { Data($0) }
            state.activated.removeAll { $0.grant.keyVersion <= grant.keyVersion }
            state.revoked.removeAll { $0.keyVersion <= grant.keyVersion }
            state.spent = state.spent.filter { $0.key.keyVersion > grant.keyVersion }
            return .erased(grant)
        }
        if state.activated.count >= Self.maxActivated,
            let first = state.activated.indices.min(by: {
                (state.activated[$0].grant.end ?? .distantFuture) < (state.activated[$1].grant.end ?? .distantFuture)
            })
        {
            state.activated.remove(at: first)  // its slot stays spent
        }
        state.activated.append(Activated(pin: pin, grant: grant, used: grant.type == .oneTime))
        return .unlocked(grant)
    }

    /// The last second a slot's period can be searched (section 5.1): after it, forgetting the
    /// slot cannot let it activate again.
    static func searchEnd(of slot: OfflinePINScheme.Slot) -> Int64 {
        let lastStartHour = slot.type == .hourly ? slot.period : slot.period * 24 + 23
        return (lastStartHour + Int64(OfflinePINScheme.activationHours)) * 3600 + OfflinePINScheme.driftSeconds
    }

    /// Ended codes and past slots need no memory: they can never be accepted again anyway.
    private mutating func forgetEnded(at t: Int64) {
        func ended(_ grant: OfflinePINScheme.Grant) -> Bool {
            grant.durationHours.map { (grant.startHour + $0) * 3600 + OfflinePINScheme.driftSeconds <= t } ?? false
        }
        state.activated.removeAll { ended($0.grant) }
        state.revoked.removeAll { ended($0) }
        state.spent = state.spent.filter { $0.value > t }
    }

    /// Someone removed a code at the lock (over Bluetooth): an activated code, or one that could
    /// be activated now. Its slot is spent for good. Returns the removed grant, or nil.
    public mutating func remove(_ pin: String, at clock: Date) -> OfflinePINScheme.Grant? {
        let t = time(clock)
        forgetEnded(at: t)
        let grant: OfflinePINScheme.Grant
        if let index = state.activated.firstIndex(where: { $0.pin == pin }) {
            grant = state.activated.remove(at: index).grant
        } else if let found = OfflinePINScheme.decode(pin, at: t, keys: searchedKeys, digits: state.digits)
            .first(where: { $0.inWindow && $0.grant.type != .erase && state.spent[$0.slot] == nil })
        {
            grant = found.grant
            state.spent[found.slot] = Self.searchEnd(of: found.slot)
        } else {
            return nil
        }
        state.revoked.append(grant)
        return grant
    }

    /// The registry says no code of an older version can still be activated: search from
    /// `version` on. Codes already activated stay (unlike an erase).
    public mutating func advance(toVersion version: UInt16) {
        var key = self.key
        while state.keyVersion < version {
            key = OfflinePINScheme.nextKey(after: key)
            state.keyVersion &+= 1
        }
        state.key = key.withUnsafeBytes { Data($0) }
    }
}
