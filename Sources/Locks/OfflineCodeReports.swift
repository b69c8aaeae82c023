import Foundation
import Postgres

/// What the registry learns from a lock about its offline codes, applied inside the gateway's
/// transaction. The lock names the grant it verified; the registry finds the code by its slot.
enum OfflineCodeReports {
    static func used(
        _ grant: OfflineGrantReference, lockID: UUID, ownerID: UUID, data: [String: any Sendable], at occurredAt: Date?,
        on connection: PostgresConnection
    ) throws {
        let id = try code(for: grant, lockID: lockID, on: connection)
        // The first use is the activation; a one-time or erase code is spent by it.
        let spends = grant.kind == .oneTimeUse || grant.kind == .erase
        try connection.query(
            """
            UPDATE access_codes SET first_used_at = coalesce(first_used_at, $2, now()),
                spent_at = CASE WHEN $3 THEN coalesce(spent_at, $2, now()) ELSE spent_at END,
                expiry_removed = expiry_removed OR $3
            WHERE access_code_id = $1
            """, [id, occurredAt, spends])
        var data = data
        data["access_code_id"] = id.uuidString.lowercased()
        data["lock_id"] = lockID.uuidString.lowercased()
        data["offline_access_code_type"] = grant.kind.rawValue
        try EventLog.append("access_code.used", ownerID: ownerID, deviceID: lockID, data: data, on: connection)
        guard grant.kind == .erase else {
            try connection.query("UPDATE locks SET lock_state = 'unlocked' WHERE lock_id = $1", [lockID])
            data["performed_via"] = "pin_code"
            try EventLog.append("lock.unlocked", ownerID: ownerID, deviceID: lockID, data: data, on: connection)
            return
        }
        // The erase code retired its key version and every older one at the lock: the codes
        // issued before it are gone, and the lock now starts from the next version.
        let revoked = try connection.query(
            """
            UPDATE access_codes SET state = 'deleted'
            WHERE lock_id = $1 AND is_offline AND key_version <= $2 AND access_code_id <> $3
              AND state = 'active' AND NOT expiry_removed
            RETURNING access_code_id
            """, [lockID, grant.keyVersion, id]
        ).rows.map { try $0.decode(UUID.self, at: 0) }
        for code in revoked {
            try AccessCodeEvents.append("access_code.deleted", accessCodeID: code, outcome: .success, reason: "erased_at_lock", on: connection)
        }
        try connection.query(
            "UPDATE locks SET offline_lock_key_version = greatest(offline_lock_key_version, $2) WHERE lock_id = $1",
            [lockID, grant.keyVersion + 1])
    }

    static func removedAtLock(
        _ grant: OfflineGrantReference, lockID: UUID, ownerID: UUID, data: [String: any Sendable],
        on connection: PostgresConnection
    ) throws {
        let id = try code(for: grant, lockID: lockID, on: connection)
        let removed = try connection.query(
            "UPDATE access_codes SET state = 'deleted' WHERE access_code_id = $1 AND state <> 'deleted'", [id])
        guard removed.affectedRows == 1 else { return }  // reported twice: already gone
        try AccessCodeEvents.append("access_code.deleted", accessCodeID: id, outcome: .success, reason: "removed_at_lock", on: connection)
    }

    private static func code(for grant: OfflineGrantReference, lockID: UUID, on connection: PostgresConnection) throws -> UUID {
        guard let row = try connection.query(
            """
            SELECT access_code_id FROM access_codes
            WHERE lock_id = $1 AND is_offline AND offline_type = $2 AND key_version = $3 AND slot_period = $4 AND slot = $5
            FOR UPDATE
            """, [lockID, grant.kind.rawValue, grant.keyVersion, grant.period, grant.slot]
        ).singleRow() else { throw DeviceGatewayStore.ReportError.unknownAccessCode }
        return try row.decode(UUID.self, at: 0)
    }
}
