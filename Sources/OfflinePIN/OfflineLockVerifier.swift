import Crypto
import Foundation

/// The lock side of the scheme: decides on a typed PIN with its own clock and a small state,
/// and never talks to the server. Keys form a chain: key v+1 = HMAC(key v, "LCPIN1-next-key"),
/// so an erase code of version v can retire every code of version v or older with no network.
public struct OfflineLockVerifier: Sendable {
    public enum Outcome: Sendable, Equatable {
        case unlocked(OfflinePINScheme.Grant)
        /// An erase code: every offline code of its key version or older is revoked.
        case erased(OfflinePINScheme.Grant)
        case rejected
        case lockedOut(until: Date)
    }

    public struct Activated: Sendable, Codable, Equatable {
        public let pin: String
        public let grant: OfflinePINScheme.Grant
        public var used: Bool
    }

    public static let maxActivated = 199
    public static let attemptsBeforeLockout = 5
    public static let firstLockout: TimeInterval = 15 * 60
    public static let longestLockout: TimeInterval = 24 * 3600

    public let digits: Int
    public private(set) var keyVersion: UInt16
    private var key: SymmetricKey
    public private(set) var activated: [Activated] = []
    public private(set) var failedAttempts = 0
    public private(set) var lockouts = 0
    public private(set) var lockedUntil: Date?

    public init(key: SymmetricKey, keyVersion: UInt16, digits: Int = 9) {
        self.key = key
        self.keyVersion = keyVersion
        self.digits = digits
    }

    public static func nextKey(after key: SymmetricKey) -> SymmetricKey {
        SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data("LCPIN1-next-key".utf8), using: key)))
    }

    public mutating func enter(_ pin: String, at now: Date) -> Outcome {
        if let lockedUntil, now < lockedUntil { return .lockedOut(until: lockedUntil) }
        activated.removeAll { $0.grant.end.map { $0 <= now } ?? false }
        let outcome = decide(pin, at: now)
        if case .rejected = outcome {
            failedAttempts += 1
            if failedAttempts >= Self.attemptsBeforeLockout {
                let seconds = min(Self.firstLockout * pow(2, Double(lockouts)), Self.longestLockout)
                lockedUntil = now.addingTimeInterval(seconds)
                lockouts += 1
                failedAttempts = 0
            }
        } else {
            failedAttempts = 0
            lockouts = 0
        }
        return outcome
    }

    private mutating func decide(_ pin: String, at now: Date) -> Outcome {
        if let index = activated.firstIndex(where: { $0.pin == pin }) {
            let entry = activated[index]
            guard !entry.used, entry.grant.start <= now, entry.grant.end.map({ now < $0 }) ?? true else { return .rejected }
            if entry.grant.type == .oneTime { activated[index].used = true }
            return .unlocked(entry.grant)
        }
        let hour = Int64((now.timeIntervalSince(OfflinePINScheme.epoch) / 3600).rounded(.down))
        let keys = [(keyVersion, key), (keyVersion &+ 1, Self.nextKey(after: key))]
        let grants = OfflinePINScheme.candidates(for: pin, at: hour, keys: keys, digits: digits)
        guard let grant = grants.first(where: { $0.start <= now && ($0.end.map { now < $0 } ?? true) }) else {
            return .rejected
        }
        if grant.type == .erase {
            // Retire this version and all before it; the chain gives the lock its next key.
            while keyVersion <= grant.keyVersion {
                key = Self.nextKey(after: key)
                keyVersion &+= 1
            }
            activated.removeAll { $0.grant.keyVersion <= grant.keyVersion }
            return .erased(grant)
        }
        if activated.count >= Self.maxActivated {
            // Full: forget the code that ends first (permanent codes last).
            if let oldest = activated.indices.min(by: {
                (activated[$0].grant.end ?? .distantFuture) < (activated[$1].grant.end ?? .distantFuture)
            }) { activated.remove(at: oldest) }
        }
        activated.append(Activated(pin: pin, grant: grant, used: grant.type == .oneTime))
        return .unlocked(grant)
    }
}
