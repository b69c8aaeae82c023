import Foundation
import Postgres

/// `access_code.created`, `.updated` and `.deleted` as the newer guide sends them: when the lock
/// has acted (offline codes: at registration), `status` `success` or `failed` (then with the
/// lock's `error_code` and a `message`). Each carries `lock_id`, `access_code_id`, the code's
/// own status (`access_code_status`) and what a receiver needs to mirror the code without
/// reading it (name, times, offline type), never the PIN. Written in the caller's transaction,
/// after the change, so the status is the one the change left.
enum AccessCodeEvents {
    enum Outcome: Sendable {
        case success
        case failed(errorCode: String, message: String)
    }

    static func append(
        _ type: String, accessCodeID: UUID, outcome: Outcome, reason: String? = nil, on connection: PostgresConnection
    ) throws {
        let (status, errorCode, message): (String, String?, String?) =
            switch outcome {
            case .success: ("success", nil, nil)
            case .failed(let code, let message): ("failed", code, message)
            }
        // The offline registry's one-statement insert builds the same data (keep them alike).
        try connection.query(
            """
            INSERT INTO events (event_type, owner_id, device_id, data)
            SELECT $2, owner_id, lock_id, jsonb_strip_nulls(jsonb_build_object(
                'access_code_id', c.access_code_id, 'lock_id', c.lock_id, 'device_id', c.lock_id,
                'status', $3::text, 'error_code', $4::text, 'message', $5::text, 'reason', $6::text,
                'access_code_status', c.status, 'name', c.name, 'is_offline_access_code', c.is_offline,
                'offline_access_code_type', c.offline_type,
                'starts_at', to_char(c.starts_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                'ends_at', to_char(c.ends_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')))
            FROM readable_access_codes c WHERE access_code_id = $1
            """, [accessCodeID, type, status, errorCode, message, reason])
    }
}
