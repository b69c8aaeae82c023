import Foundation
import OAuth
import Postgres

/// Operator-side tools for locks across all owners: listing every paired lock and issuing a
/// lock a new device credential (a lock reset to factory settings, or the demo simulator).
public struct LockProvisioning: Sendable {
    let database: PostgresConnectionPool

    public init(database: PostgresConnectionPool) {
        self.database = database
    }

    /// Every paired lock of every owner (operator tools only, e.g. the demo simulator).
    public func allLiveLockIDs() async throws -> [UUID] {
        try await database.query("SELECT lock_id FROM locks WHERE removed_at IS NULL ORDER BY created_at")
            .rows.map { try $0.decode(UUID.self, at: 0) }
    }

    /// Issues a new device credential for a lock (operator action, e.g. a lock reset to factory
    /// settings); the old credential stops working at once.
    public func reissueCredential(lockID: UUID) async throws -> String? {
        let credential = SecretToken.generate(prefix: "lcd_")
        let updated = try await database.query(
            "UPDATE locks SET device_credential_hash = $2 WHERE lock_id = $1 AND removed_at IS NULL",
            [lockID, SecretToken.hash(credential)])
        return updated.affectedRows == 1 ? credential : nil
    }
}
