import Foundation
import NIOConcurrencyHelpers
import Postgres

/// Device credentials this instance has already checked, so that a lock's next long poll (every
/// 25 s, all day, for every lock) costs no database statement.
///
/// An entry is only trusted while the notification connection that would announce its
/// revocation (`lockcloud_lock_credentials`, migration 0022: re-pairing, unpairing) has been up
/// since the entry was stored: entries carry that connection's `generation`, and a lost
/// connection voids them all. Keys are the credentials' SHA-256 hashes, as stored in the
/// database; the credentials themselves are not kept.
///
/// A revocation that races a lookup in flight is not missed either: `store` is refused when any
/// revocation arrived after the lookup's `stamp()` was taken.
final class DeviceCredentialCache: Sendable {
    typealias Device = (lockID: UUID, ownerID: UUID)

    private struct Entry {
        var lockID: UUID
        var ownerID: UUID
        var generation: UInt64
    }

    private struct State {
        var entries: [PostgresBytes: Entry] = [:]
        var hashByLock: [UUID: PostgresBytes] = [:]
        var revocations: UInt64 = 0
    }

    /// Past this many entries the cache starts over (a bound on memory; each lock then simply
    /// authenticates against the database once more).
    static let limit = 1_000_000

    private let state = NIOLockedValueBox(State())

    var count: Int { state.withLockedValue { $0.entries.count } }

    func lookup(_ hash: PostgresBytes, generation: UInt64?) -> Device? {
        guard let generation else { return nil }
        return state.withLockedValue { state in
            guard let entry = state.entries[hash], entry.generation == generation else { return nil }
            return (entry.lockID, entry.ownerID)
        }
    }

    /// Taken before reading a credential from the database; see `store`.
    func stamp() -> UInt64 { state.withLockedValue { $0.revocations } }

    func store(_ hash: PostgresBytes, _ device: Device, generation: UInt64?, stamp: UInt64) {
        guard let generation else { return }
        state.withLockedValue { state in
            guard state.revocations == stamp else { return }
            if state.entries.count >= Self.limit {
                state.entries.removeAll()
                state.hashByLock.removeAll()
            }
            if let previous = state.hashByLock[device.lockID], previous != hash { state.entries[previous] = nil }
            state.entries[hash] = Entry(lockID: device.lockID, ownerID: device.ownerID, generation: generation)
            state.hashByLock[device.lockID] = hash
        }
    }

    /// The lock's credential changed or was revoked.
    func revoke(lockID: UUID) {
        state.withLockedValue { state in
            state.revocations += 1
            if let hash = state.hashByLock.removeValue(forKey: lockID) { state.entries[hash] = nil }
        }
    }

    /// Revocations may have been missed (the notification connection was lost).
    func clear() {
        state.withLockedValue { state in
            state.revocations += 1
            state.entries.removeAll()
            state.hashByLock.removeAll()
        }
    }
}
