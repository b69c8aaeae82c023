import Foundation

/// How many wrong PINs a keypad takes before it stops listening: a device requirement for
/// every keypad of every model, online codes and offline PINs alike (docs/offline-pin-scheme.md
/// section 5, docs/access-codes.md). Without it a 4-digit online code falls to a patient guest
/// in 10,000 tries. After `attemptsBeforeLockout` wrong PINs in a row the keypad refuses
/// everything for `firstLockout`, doubling with each further lockout up to `longestLockout`.
public struct KeypadFailureBudget: Sendable, Codable, Equatable {
    public static let attemptsBeforeLockout = 5
    public static let firstLockout: TimeInterval = 15 * 60
    public static let longestLockout: TimeInterval = 24 * 3600

    public private(set) var failedAttempts = 0
    public private(set) var lockouts = 0
    public private(set) var lockedUntil: Date?

    public init() {}

    /// The end of the current lockout, or nil when the keypad may decide on a PIN now.
    public func lockedOut(at now: Date) -> Date? {
        guard let lockedUntil, now < lockedUntil else { return nil }
        return lockedUntil
    }

    /// Records what the keypad decided on a PIN it was allowed to decide on.
    public mutating func record(accepted: Bool, at now: Date) {
        guard !accepted else {
            failedAttempts = 0
            lockouts = 0
            return
        }
        failedAttempts += 1
        guard failedAttempts >= Self.attemptsBeforeLockout else { return }
        // 2^lockouts stops mattering long before it could overflow: the cap is reached at 7.
        let seconds = min(Self.firstLockout * pow(2, Double(min(lockouts, 16))), Self.longestLockout)
        lockedUntil = now.addingTimeInterval(seconds)
        lockouts += 1
        failedAttempts = 0
    }
}
