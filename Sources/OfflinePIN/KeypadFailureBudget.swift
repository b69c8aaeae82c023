import Foundation

/// How many refused PINs a keypad searches: a device requirement for every keypad of every
/// model, online codes and offline PINs alike (docs/offline-pin-scheme.md section 5.2). A leaky
/// bucket of refused searches that a correct PIN never empties, so a holder of a valid code gets
/// no more guesses than a stranger: at most `capacity + floor(T / leakSeconds)` in any time T
/// (1,835 a year). Five refusals in the bucket start a 15-minute lockout, ten keep the keypad
/// locked until one leaks away. During a lockout only activated offline codes are compared, by
/// exact match, one PIN a minute. All of it is persistent lock state (Codable).
public struct KeypadFailureBudget: Sendable, Codable, Equatable {
    public static let capacity = 10
    public static let shortLockoutLevel = 5
    public static let leakSeconds: Int64 = 17_280  // 4 h 48 min: five a day
    public static let shortLockoutSeconds: Int64 = 900
    public static let lockoutPaceSeconds: Int64 = 60

    /// Refused searches still in the bucket, and the time (seconds since the scheme epoch) the
    /// leak is counted from.
    public private(set) var level = 0
    public private(set) var leakReference: Int64 = 0
    public private(set) var shortLockoutUntil: Int64 = 0
    /// The last PIN refused during a lockout (the one-a-minute pace).
    public private(set) var lastLockoutRefusal: Int64?

    public init() {}

    /// What the keypad may do with the next PIN.
    public enum Mode: Sendable, Equatable {
        /// Compare online codes and run the offline search.
        case search
        /// Locked out: compare activated offline codes only, by exact match.
        case exactMatchOnly
        /// Locked out and a PIN was refused less than a minute ago: refuse unseen.
        case ignore
    }

    /// Lets the bucket leak up to `t`. Call before every decision (with the lock's monotonic time).
    public mutating func leak(at t: Int64) {
        if level > 0, t > leakReference {
            let gone = (t - leakReference) / Self.leakSeconds
            level = max(0, level - Int(min(gone, Int64(Self.capacity))))
            leakReference += gone * Self.leakSeconds
        }
        if level == 0 { leakReference = t }
    }

    public mutating func mode(at t: Int64) -> Mode {
        leak(at: t)
        guard let until = lockedUntil(at: t), until > t else { return .search }
        if let last = lastLockoutRefusal, t < last + Self.lockoutPaceSeconds { return .ignore }
        return .exactMatchOnly
    }

    /// When the keypad searches again (nil: it searches now). Leaks are computed, not stored.
    public func lockedUntil(at t: Int64) -> Int64? {
        var copy = self
        copy.leak(at: t)
        if copy.level >= Self.capacity { return max(copy.leakReference + Self.leakSeconds, copy.shortLockoutUntil) }
        return copy.shortLockoutUntil > t ? copy.shortLockoutUntil : nil
    }

    /// A searched PIN opened nothing. Returns the end of the lockout it started, if it did.
    @discardableResult
    public mutating func recordSearchRefused(at t: Int64) -> Int64? {
        leak(at: t)
        if level == 0 { leakReference = t }
        level += 1
        if level == Self.shortLockoutLevel {
            shortLockoutUntil = t + Self.shortLockoutSeconds
            return shortLockoutUntil
        }
        return level >= Self.capacity ? lockedUntil(at: t) : nil
    }

    /// A PIN refused during a lockout: it only paces the next one.
    public mutating func recordLockoutRefusal(at t: Int64) {
        lastLockoutRefusal = t
    }
}
