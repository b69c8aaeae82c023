import Foundation
import Postgres

extension LockStore {
    /// When each of the owner's locks last sent a heartbeat (locks never heard from are left
    /// out). For the account pages; the API's lock object has no such field.
    public func lastSeen(ownerID: UUID, lockIDs: [UUID]) async throws -> [UUID: Date] {
        guard !lockIDs.isEmpty else { return [:] }
        let rows = try await database.query(
            """
            SELECT lock_id, last_heartbeat_at FROM locks
            WHERE owner_id = $1 AND lock_id = ANY ($2::uuid[]) AND last_heartbeat_at IS NOT NULL
            """, [ownerID, PostgresTextArray(lockIDs.map(\.uuidString))]
        ).rows
        var seen: [UUID: Date] = [:]
        for row in rows { seen[try row.decode(UUID.self, at: 0)] = try row.decode(Date.self, at: 1) }
        return seen
    }
}
