import Foundation
import Postgres

/// A lock or unlock request and where it stands.
public struct LockAction: Sendable, Equatable {
    public let id: UUID
    public let lockID: UUID
    public let action: String
    public let customID: String?
    public let status: String
    public let errorCode: String?
    public let performedVia: String?
    /// Why it failed, in words (null unless failed).
    public let message: String?
    public let createdAt: Date
    public let completedAt: Date?

    init(row: PostgresRow) throws {
        id = try row.decode(UUID.self, column: "action_id")
        lockID = try row.decode(UUID.self, column: "lock_id")
        action = try row.decode(String.self, column: "action")
        customID = try row.decode(String?.self, column: "custom_id")
        status = try row.decode(String.self, column: "status")
        errorCode = try row.decode(String?.self, column: "error_code")
        performedVia = try row.decode(String?.self, column: "performed_via")
        message = try row.decode(String?.self, column: "message")
        createdAt = try row.decode(Date.self, column: "created_at")
        completedAt = try row.decode(Date?.self, column: "completed_at")
    }
}

public enum ActionError: Error, Equatable {
    case lockNotFound
    case deviceOffline
    case invalidCustomID
    /// The lock's model cannot do this action remotely (`can_remotely_lock`/`unlock` false).
    case unsupportedAction
}

/// Lock and unlock actions: each queues a command for the lock's gateway connection and ends
/// when the lock answers or the timeout passes.
public struct ActionStore: Sendable {
    let database: PostgresConnectionPool

    public init(database: PostgresConnectionPool) {
        self.database = database
    }

    /// Queues `action` for the owner's lock on behalf of OAuth client `clientID` (whose
    /// identifiers its completion event will carry), or of the owner on the account pages (nil:
    /// every client sees that action's identifiers as null). A repeated `customID` returns the first action.
    public func request(ownerID: UUID, lockID: UUID, action: String, customID: String?, clientID: String?) async throws -> LockAction {
        if let customID, !StoredText.fits(customID, 1...200) { throw ActionError.invalidCustomID }
        let result = try await database.transaction { connection -> Result<LockAction, ActionError> in
            guard let lock = try connection.query(
                """
                SELECT l.online, CASE WHEN $3 = 'lock' THEN m.supports_remote_lock ELSE m.supports_remote_unlock END
                FROM locks l JOIN lock_models m ON m.model_id = l.model_id
                WHERE l.owner_id = $1 AND l.lock_id = $2 AND l.removed_at IS NULL FOR SHARE OF l
                """,
                [ownerID, lockID, action]
            ).singleRow() else { return .failure(.lockNotFound) }
            // The capability the lock advertises is the one enforced: nothing is queued.
            guard try lock.decode(Bool.self, at: 1) else { return .failure(.unsupportedAction) }
            if let customID, let existing = try connection.query(
                "SELECT * FROM lock_actions WHERE lock_id = $1 AND custom_id = $2", [lockID, customID]
            ).singleRow() {
                return .success(try LockAction(row: existing))
            }
            guard try lock.decode(Bool.self, at: 0) else { return .failure(.deviceOffline) }
            // The lock row is share-locked, so two requests with one custom_id serialize on the
            // unique key; the loser's insert does nothing and it reads the winner's action.
            guard let inserted = try connection.query(
                """
                INSERT INTO lock_actions (lock_id, owner_id, action, custom_id, client_id) VALUES ($1, $2, $3, $4, $5)
                ON CONFLICT (lock_id, custom_id) DO NOTHING RETURNING *
                """, [lockID, ownerID, action, customID, clientID]
            ).singleRow() else {
                return .success(try LockAction(row: try connection.query(
                    "SELECT * FROM lock_actions WHERE lock_id = $1 AND custom_id = $2", [lockID, customID]).firstRow()))
            }
            let created = try LockAction(row: inserted)
            try connection.query(
                "INSERT INTO device_commands (lock_id, command_type, action_id) VALUES ($1, $2, $3)",
                [lockID, action, created.id])
            return .success(created)
        }
        return try result.get()
    }

    public func find(ownerID: UUID, lockID: UUID, actionID: UUID) async throws -> LockAction? {
        try await database.query(
            "SELECT * FROM lock_actions WHERE owner_id = $1 AND lock_id = $2 AND action_id = $3", [ownerID, lockID, actionID]
        ).singleRow().map(LockAction.init(row:))
    }

    /// Fails actions the lock did not answer within `timeoutSeconds` (DEVICE_TIMEOUT), expires
    /// their commands and records `lock.action_completed`, all in one statement, so any number
    /// of instances may run this at once.
    @discardableResult
    public func failTimedOut(timeoutSeconds: Int) async throws -> Int {
        try await database.query(
            """
            WITH timed_out AS (
                UPDATE lock_actions SET status = 'failed', error_code = 'DEVICE_TIMEOUT',
                    message = $2, completed_at = now()
                WHERE status = 'pending' AND created_at < now() - make_interval(secs => $1)
                RETURNING action_id, lock_id, owner_id, action, custom_id, client_id
            ), expired AS (
                UPDATE device_commands SET status = 'expired', completed_at = now()
                WHERE action_id IN (SELECT action_id FROM timed_out) AND status IN ('pending', 'delivered')
            )
            INSERT INTO events (event_type, owner_id, device_id, data, client_id)
            SELECT 'lock.action_completed', owner_id, lock_id,
                   jsonb_build_object('action_id', action_id, 'action', action, 'custom_id', custom_id,
                                      'status', 'failed', 'error_code', 'DEVICE_TIMEOUT', 'device_id', lock_id,
                                      'lock_id', lock_id, 'performed_via', null,
                                      'message', $2::text),
                   client_id
            FROM timed_out
            """, [timeoutSeconds, DeviceVocabulary.actionFailure(lockReason: "DEVICE_TIMEOUT").message]
        ).affectedRows
    }
}
