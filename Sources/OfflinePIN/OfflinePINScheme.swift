import Crypto
import Foundation

/// LockCloud offline PIN scheme, version 2 (docs/offline-pin-scheme.md is the normative text;
/// this file follows it step by step). Pure: no clock, no randomness, no I/O.
public enum OfflinePINScheme {
    /// The label in every MAC message and the value the registry stores with each grant.
    public static let label = "LCPIN2"
    /// Drift tolerance D in seconds: windows are accepted D early and D late (section 6). Below
    /// 1800 s, so a search spans at most 25 start hours and 2 days (99 MACs per key version).
    public static let driftSeconds: Int64 = 900
    /// Time zero of the scheme: 2024-01-01T00:00:00Z. Hours and days count from here, in UTC.
    public static let epoch = Date(timeIntervalSince1970: 1_704_067_200)
    /// A code not yet activated at the lock must be typed within this many hours of its start.
    public static let activationHours = 24

    public enum CodeType: UInt8, Sendable, CaseIterable, Codable {
        case hourly = 1
        case daily = 2
        case oneTime = 3
        case permanent = 4
        case erase = 5

        /// Slots per start period (hour for `.hourly`, UTC day for the others).
        public var slots: Int {
            switch self {
            case .hourly: return 3
            case .daily: return 3
            case .oneTime: return 5
            case .permanent: return 3
            case .erase: return 1
            }
        }

        /// The name the API and the device gateway use for the type.
        public var apiName: String {
            switch self {
            case .hourly: return "hourly_bound"
            case .daily: return "daily_bound"
            case .oneTime: return "one_time_use"
            case .permanent: return "permanent"
            case .erase: return "erase"
            }
        }

        /// Whether the period a code is keyed by is an hour (else a UTC day).
        public var keyedByHour: Bool { self == .hourly }

        /// How many distinct values the PIN's hidden field can take for this type.
        var valueCount: UInt64 {
            switch self {
            case .hourly: return 672  // duration 1...672 hours
            case .daily: return 24 * 339  // hour of day 0...23 × duration 29...367 days
            case .oneTime, .permanent, .erase: return 24  // hour of day
            }
        }
    }

    /// Everything a PIN stands for.
    public struct Grant: Sendable, Equatable, Codable {
        public let type: CodeType
        public let keyVersion: UInt16
        /// Start hour, counted in whole hours from `epoch`.
        public let startHour: Int64
        /// Hours the window lasts; nil for permanent codes. One-time and erase codes: 24.
        public let durationHours: Int64?
        public let slot: Int

        public init(type: CodeType, keyVersion: UInt16, startHour: Int64, durationHours: Int64?, slot: Int) {
            self.type = type
            self.keyVersion = keyVersion
            self.startHour = startHour
            self.durationHours = durationHours
            self.slot = slot
        }

        public var start: Date { epoch.addingTimeInterval(Double(startHour) * 3600) }
        public var end: Date? { durationHours.map { epoch.addingTimeInterval(Double(startHour + $0) * 3600) } }

        /// The period the code is keyed by: its start hour, or the UTC day of its start.
        public var period: Int64 { OfflinePINScheme.period(of: type, startHour: startHour) }
    }

    /// The period a code of `type` starting at `startHour` is keyed by (section 3).
    public static func period(of type: CodeType, startHour: Int64) -> Int64 {
        type.keyedByHour ? startHour : floorDiv(startHour, 24)
    }

    public enum IssueError: Error, Equatable {
        case invalidDuration
        case invalidSlot
        case invalidDigits
    }

    // MARK: - The PIN function

    /// Step 1: the MAC of one (type, key version, period, slot) candidate. The digit count is
    /// part of the message, so one grant's PINs at two lengths are unrelated.
    static func mac(key: SymmetricKey, type: CodeType, keyVersion: UInt16, period: Int64, slot: Int, digits: Int) -> [UInt8] {
        var message = Array(label.utf8)
        message.append(type.rawValue)
        message.append(contentsOf: withUnsafeBytes(of: keyVersion.bigEndian, Array.init))
        message.append(contentsOf: withUnsafeBytes(of: period.bigEndian, Array.init))
        message.append(UInt8(slot))
        message.append(UInt8(digits))
        return Array(HMAC<SHA256>.authenticationCode(for: message, using: key))
    }

    /// Key version v+1 from key version v (section 1): the chain only runs forward.
    public static func nextKey(after key: SymmetricKey) -> SymmetricKey {
        SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data("\(label)-next-key".utf8), using: key)))
    }

    /// Step 2: offset T and multiplier M (a unit modulo 10^digits) from the MAC.
    static func mask(_ mac: [UInt8], modulus: UInt64) -> (offset: UInt64, multiplier: UInt64) {
        func word(_ start: Int) -> UInt64 { mac[start..<start + 8].reduce(0) { $0 << 8 | UInt64($1) } }
        let offset = word(0) % modulus
        var multiplier = word(8) % modulus
        // Force the last digit to 1, 3, 7 or 9: then M is coprime with 10^digits, so invertible.
        multiplier = multiplier - multiplier % 10 + [1, 3, 7, 9][Int(word(16) % 4)]
        return (offset, multiplier % modulus)
    }

    /// Step 3: the hidden value v of a grant (duration, and hour of day for day-keyed types).
    static func value(of grant: Grant) throws -> UInt64 {
        let hourOfDay = UInt64(floorMod(grant.startHour, 24))
        switch grant.type {
        case .hourly:
            guard let hours = grant.durationHours, (1...672).contains(hours) else { throw IssueError.invalidDuration }
            return UInt64(hours - 1)
        case .daily:
            guard let hours = grant.durationHours, hours % 24 == 0, (29...367).contains(hours / 24) else {
                throw IssueError.invalidDuration
            }
            return hourOfDay * 339 + UInt64(hours / 24 - 29)
        case .oneTime, .erase:
            guard grant.durationHours == 24 else { throw IssueError.invalidDuration }
            return hourOfDay
        case .permanent:
            guard grant.durationHours == nil else { throw IssueError.invalidDuration }
            return hourOfDay
        }
    }

    /// The PIN for a grant: (T + v × M) mod 10^digits, written with leading zeros.
    public static func pin(for grant: Grant, key: SymmetricKey, digits: Int = 11) throws -> String {
        guard (6...12).contains(digits) else { throw IssueError.invalidDigits }
        guard (0..<grant.type.slots).contains(grant.slot) else { throw IssueError.invalidSlot }
        let modulus = power10(digits)
        let value = try value(of: grant)
        let (offset, multiplier) = mask(
            mac(key: key, type: grant.type, keyVersion: grant.keyVersion, period: grant.period, slot: grant.slot, digits: digits),
            modulus: modulus)
        let number = (offset + mulMod(value, multiplier, modulus)) % modulus
        let text = String(number)
        return String(repeating: "0", count: digits - text.count) + text
    }

    /// Inverts step 3 for a candidate: the grant a value stands for, or nil when v is out of range.
    static func grant(type: CodeType, keyVersion: UInt16, period: Int64, slot: Int, value: UInt64) -> Grant? {
        guard value < type.valueCount else { return nil }
        switch type {
        case .hourly:
            return Grant(type: type, keyVersion: keyVersion, startHour: period, durationHours: Int64(value) + 1, slot: slot)
        case .daily:
            let startHour = period * 24 + Int64(value / 339)
            return Grant(type: type, keyVersion: keyVersion, startHour: startHour, durationHours: (Int64(value % 339) + 29) * 24, slot: slot)
        case .oneTime, .erase:
            return Grant(type: type, keyVersion: keyVersion, startHour: period * 24 + Int64(value), durationHours: 24, slot: slot)
        case .permanent:
            return Grant(type: type, keyVersion: keyVersion, startHour: period * 24 + Int64(value), durationHours: nil, slot: slot)
        }
    }

    /// A slot of the scheme: what one activation spends (type, key version, period, slot).
    public struct Slot: Sendable, Hashable, Codable {
        public let type: CodeType
        public let keyVersion: UInt16
        public let period: Int64
        public let slot: Int
    }

    /// One candidate whose hidden value decoded in range, with whether the decoded grant's
    /// window (tolerance included) holds at the time searched.
    public struct Decoded: Sendable, Equatable {
        public let grant: Grant
        public let inWindow: Bool
        public var slot: Slot { Slot(type: grant.type, keyVersion: grant.keyVersion, period: grant.period, slot: grant.slot) }
    }

    /// Seconds since the epoch, rounded down: the lock's time `t`.
    public static func seconds(_ date: Date) -> Int64 {
        Int64(date.timeIntervalSince(epoch).rounded(.down))
    }

    /// The start hours a search at `t` tries (section 5.3 step 4); the days are those of its ends.
    public static func searchedHours(at t: Int64) -> ClosedRange<Int64> {
        (floorDiv(t - driftSeconds, 3600) - 23)...floorDiv(t + driftSeconds, 3600)
    }

    /// Whether a grant may be used at `t` by its window alone: from start - D, activation
    /// within 24 h + D of the start (unless `activated`), and before end + D.
    public static func inWindow(_ grant: Grant, at t: Int64, activated: Bool) -> Bool {
        let start = grant.startHour * 3600
        guard start - driftSeconds <= t else { return false }
        if !activated, t >= start + Int64(activationHours) * 3600 + driftSeconds { return false }
        if let hours = grant.durationHours, t >= (grant.startHour + hours) * 3600 + driftSeconds { return false }
        return true
    }

    /// Every candidate of the lock's search at `t` whose hidden value decodes in range, in the
    /// search order (version, type, period, slot). At most 99 MACs per key version.
    public static func decode(
        _ pin: String, at t: Int64, keys: [(version: UInt16, key: SymmetricKey)], digits: Int,
        masks: MaskSource? = nil
    ) -> [Decoded] {
        let hours = searchedHours(at: t)
        return decode(pin, hours: hours, keys: keys, digits: digits, masks: masks) { grant in
            inWindow(grant, at: t, activated: false)
        }
    }

    /// Steps 1-2 for one candidate as the search needs them: the offset and the inverse of the
    /// multiplier. They depend on the key and the candidate, never on the typed PIN.
    public struct CandidateMask: Sendable {
        public let offset: UInt64
        public let inverse: UInt64
    }

    /// Where a search takes its candidates' masks from: (key version, key, type, period, slot).
    /// A lock computes each one (one HMAC); a caller that searches the same candidates many
    /// times (the property tests, 100,000 issues per type) may memoize this function.
    public typealias MaskSource = (UInt16, SymmetricKey, CodeType, Int64, Int) -> CandidateMask

    public static func candidateMask(
        key: SymmetricKey, keyVersion: UInt16, type: CodeType, period: Int64, slot: Int, digits: Int
    ) -> CandidateMask {
        let modulus = power10(digits)
        let (offset, multiplier) = mask(
            mac(key: key, type: type, keyVersion: keyVersion, period: period, slot: slot, digits: digits), modulus: modulus)
        return CandidateMask(offset: offset, inverse: inverse(multiplier, modulus))
    }

    /// The search over any range of start hours (the registry checks a whole activation window).
    static func decode(
        _ pin: String, hours: ClosedRange<Int64>, keys: [(version: UInt16, key: SymmetricKey)], digits: Int,
        masks: MaskSource? = nil, window: (Grant) -> Bool
    ) -> [Decoded] {
        guard (6...12).contains(digits), pin.count == digits, pin.utf8.allSatisfy({ (48...57).contains($0) }),
            let number = UInt64(pin)
        else { return [] }
        let modulus = power10(digits)
        let days = floorDiv(hours.lowerBound, 24)...floorDiv(hours.upperBound, 24)
        var found: [Decoded] = []
        for (version, key) in keys {
            for type in CodeType.allCases {
                for period in type.keyedByHour ? hours : days {
                    for slot in 0..<type.slots {
                        let mask = masks?(version, key, type, period, slot)
                            ?? candidateMask(key: key, keyVersion: version, type: type, period: period, slot: slot, digits: digits)
                        let difference = (number + modulus - mask.offset) % modulus
                        let value = mulMod(difference, mask.inverse, modulus)
                        // A decoded grant outside its window is still reported: the lock says
                        // why it refused (outside_window), and the registry judges overlaps.
                        guard let grant = grant(type: type, keyVersion: version, period: period, slot: slot, value: value)
                        else { continue }
                        found.append(Decoded(grant: grant, inWindow: window(grant)))
                    }
                }
            }
        }
        return found
    }

    // MARK: - Arithmetic

    static func power10(_ digits: Int) -> UInt64 { (0..<digits).reduce(1) { value, _ in value * 10 } }

    static func mulMod(_ a: UInt64, _ b: UInt64, _ modulus: UInt64) -> UInt64 {
        let product = a.multipliedFullWidth(by: b)
        return modulus.dividingFullWidth((high: product.high, low: product.low)).remainder
    }

    /// Multiplicative inverse modulo `modulus` (extended Euclid); `value` must be a unit.
    static func inverse(_ value: UInt64, _ modulus: UInt64) -> UInt64 {
        var (oldR, r) = (Int64(value), Int64(modulus))
        var (oldS, s) = (Int64(1), Int64(0))
        while r != 0 {
            let quotient = oldR / r
            (oldR, r) = (r, oldR - quotient * r)
            (oldS, s) = (s, oldS - quotient * s)
        }
        let m = Int64(modulus)
        return UInt64(((oldS % m) + m) % m)
    }
}

func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }
func floorMod(_ a: Int64, _ b: Int64) -> Int64 { a - floorDiv(a, b) * b }
