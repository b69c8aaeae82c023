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
    }

    public struct Activated: Sendable, Codable, Equatable {
        public let pin: String
        public let grant: OfflinePINScheme.Grant
        public var used: Bool
    }

    public static let maxActivated = 199

    public let digits: Int
    public private(set) var keyVersion: UInt16
    private var key: SymmetricKey
    public private(set) var activated: [Activated] = []
    /// Grants removed at the lock (over Bluetooth) before their end: never accepted again.
    public private(set) var revoked: [OfflinePINScheme.Grant] = []

    public init(key: SymmetricKey, keyVersion: UInt16, digits: Int = 9) {
        self.key = key
        self.keyVersion = keyVersion
        self.digits = digits
    }

    /// The two key versions the lock accepts: its own and the next (scheme section 1).
    private var searchedKeys: [(version: UInt16, key: SymmetricKey)] {
        [(keyVersion, key), (keyVersion &+ 1, Self.nextKey(after: key))]
    }

    public static func nextKey(after key: SymmetricKey) -> SymmetricKey {
        SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data("LCPIN1-next-key".utf8), using: key)))
    }

    /// Decides on a typed PIN that is not one of the lock's online codes. The keypad's
    /// `KeypadFailureBudget` is applied by the caller, around every PIN the keypad takes.
    public mutating func enter(_ pin: String, at now: Date) -> Outcome {
        forgetEnded(at: now)
        return decide(pin, at: now)
    }

    private mutating func decide(_ pin: String, at now: Date) -> Outcome {
        if let index = activated.firstIndex(where: { $0.pin == pin }) {
            let entry = activated[index]
            guard !entry.used, entry.grant.start <= now, entry.grant.end.map({ now < $0 }) ?? true else { return .rejected }
            if entry.grant.type == .oneTime { activated[index].used = true }
            return .unlocked(entry.grant)
        }
        let hour = Int64((now.timeIntervalSince(OfflinePINScheme.epoch) / 3600).rounded(.down))
        let grants = OfflinePINScheme.candidates(for: pin, at: hour, keys: searchedKeys, digits: digits)
        guard let grant = grants.first(where: { $0.start <= now && ($0.end.map { now < $0 } ?? true) && !revoked.contains($0) })
        else {
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

    /// Ended codes need no memory: they can never be accepted again anyway.
    private mutating func forgetEnded(at now: Date) {
        activated.removeAll { $0.grant.end.map { $0 <= now } ?? false }
        revoked.removeAll { $0.end.map { $0 <= now } ?? false }
    }

    /// Someone removed a code at the lock (over Bluetooth): an activated code, or one that could
    /// be activated now. Returns the removed grant, or nil when the PIN stands for none.
    public mutating func remove(_ pin: String, at now: Date) -> OfflinePINScheme.Grant? {
        forgetEnded(at: now)
        if let index = activated.firstIndex(where: { $0.pin == pin }) {
            let grant = activated.remove(at: index).grant
            revoked.append(grant)
            return grant
        }
        let hour = Int64((now.timeIntervalSince(OfflinePINScheme.epoch) / 3600).rounded(.down))
        guard let grant = OfflinePINScheme.candidates(for: pin, at: hour, keys: searchedKeys, digits: digits)
            .first(where: { $0.type != .erase && !revoked.contains($0) })
        else { return nil }
        revoked.append(grant)
        return grant
    }

    /// The registry says no code of an older version can still be activated: search from
    /// `version` on. Codes already activated stay (unlike an erase).
    public mutating func advance(toVersion version: UInt16) {
        while keyVersion < version {
            key = Self.nextKey(after: key)
            keyVersion &+= 1
        }
    }
}
