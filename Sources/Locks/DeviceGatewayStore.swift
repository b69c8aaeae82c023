import Foundation
import OfflinePIN
import OAuth
import Postgres

/// What a lock reports in a heartbeat; nil fields are left as they were.
public struct HeartbeatReport: Sendable {
    public var batteryLevel: Int?
    public var lockState: String?
    public var doorState: String?
    public var signalQuality: Int?
    public var deviceTime: Date?
    /// The oldest offline key version the lock searches.
    public var offlineKeyVersion: Int?

    public init(
        batteryLevel: Int?, lockState: String?, doorState: String?, signalQuality: Int?, deviceTime: Date?,
        offlineKeyVersion: Int? = nil
    ) {
        self.batteryLevel = batteryLevel
        self.lockState = lockState
        self.doorState = doorState
        self.signalQuality = signalQuality
        self.deviceTime = deviceTime
        self.offlineKeyVersion = offlineKeyVersion
    }
}

/// The grant an offline PIN stood for, as the lock reports it (never the PIN itself).
public struct OfflineGrantReference: Sendable, Equatable {
    public let kind: OfflineCodeKind
    public let keyVersion: Int
    /// Start hour (hourly-bound) or start day, counted from the scheme epoch.
    public let period: Int64
    public let slot: Int

    public init(kind: OfflineCodeKind, keyVersion: Int, period: Int64, slot: Int) {
        self.kind = kind
        self.keyVersion = keyVersion
        self.period = period
        self.slot = slot
    }
}

public struct DeviceCommand: Sendable, Equatable {
    public let id: UUID
    public let type: String
    public let payload: String
}

/// The locks' side: authentication by device credential, heartbeats, the command queue and
/// command results. Every state change and its event share one transaction.
public struct DeviceGatewayStore: Sendable {
    public static let lowBatteryThreshold = 20
    /// A delivered command without a result is delivered again after this many seconds.
    public static let redeliverySeconds = 15
    /// A battery reading this many points above the last one is a battery change: cells do not
    /// recharge, and readings move a few points with temperature and load.
    public static let batteryReplacedRise = 25
    let database: PostgresConnectionPool
    /// Seconds a heartbeat's `device_time` may be off before the lock's clock counts as wrong.
    let deviceTimeToleranceSeconds: Int64

    public init(database: PostgresConnectionPool, deviceTimeToleranceSeconds: Int64 = OfflinePINScheme.driftSeconds) {
        self.database = database
        self.deviceTimeToleranceSeconds = deviceTimeToleranceSeconds
    }

    /// The lock a credential belongs to; nil for unknown credentials and unpaired locks.
    public func authenticate(credential: String) async throws -> (lockID: UUID, ownerID: UUID)? {
        try await authenticate(credentialHash: SecretToken.hash(credential))
    }

    /// `authenticate(credential:)` for a credential already hashed (`SecretToken.hash`).
    public func authenticate(credentialHash: PostgresBytes) async throws -> (lockID: UUID, ownerID: UUID)? {
        try await database.query(
            "SELECT lock_id, owner_id FROM locks WHERE device_credential_hash = $1 AND removed_at IS NULL",
            [credentialHash]
        ).singleRow().map { (try $0.decode(UUID.self, at: 0), try $0.decode(UUID.self, at: 1)) }
    }

    /// Locks with a command to deliver now: new ones, and delivered ones without a result after
    /// `redeliverySeconds`. Served by the partial index of open commands (migration 0004).
    public func locksWithDueCommands() async throws -> [UUID] {
        try await database.query(
            """
            SELECT DISTINCT lock_id FROM device_commands
            WHERE status = 'pending' OR (status = 'delivered' AND delivered_at < now() - make_interval(secs => $1))
            """, [Self.redeliverySeconds]
        ).rows.map { try $0.decode(UUID.self, at: 0) }
    }

    /// Records a heartbeat. Returns the offline key version floor for the lock (nil for models
    /// without offline PINs): the oldest version a not-yet-activated offline code still needs.
    @discardableResult
    public func heartbeat(lockID: UUID, ownerID: UUID, report: HeartbeatReport) async throws -> Int? {
        switch try await steadyHeartbeat(lockID: lockID, report: report) {
        case .recorded(let floor): return floor
        case .needsEvents: return try await heartbeatWithEvents(lockID: lockID, ownerID: ownerID, report: report)
        }
    }

    /// The heartbeat of a lock whose report changes nothing that has an event (it was online,
    /// its battery neither crossed the low threshold nor jumped, its clock is and was right):
    /// nearly every heartbeat of a connected fleet. One statement, no transaction around it, so a
    /// fleet's heartbeats stay cheap writes. Nil when the report needs `heartbeatWithEvents`
    /// (which decides on the same rules with the row locked).
    private func steadyHeartbeat(lockID: UUID, report: HeartbeatReport) async throws -> SteadyHeartbeat {
        let clockWrong = report.deviceTime.map { abs($0.timeIntervalSince(Date())) > Double(deviceTimeToleranceSeconds) }
        let row = try await database.query(
            """
            WITH updated AS (
                UPDATE locks SET online = true, last_heartbeat_at = now(),
                    battery_level = coalesce($2, battery_level), lock_state = coalesce($3, lock_state),
                    door_state = coalesce($4, door_state), signal_quality = coalesce($5, signal_quality),
                    device_time = coalesce($6, device_time), offline_lock_key_version = coalesce($7, offline_lock_key_version)
                WHERE lock_id = $1 AND online
                  AND ($2::integer IS NULL
                       OR (NOT ($2 < $9 AND coalesce(battery_level, 100) >= $9)
                           AND NOT (battery_level IS NOT NULL AND $2 >= battery_level + $10)))
                  AND ($8::boolean IS NULL OR (NOT $8 AND NOT device_time_wrong))
                RETURNING lock_id
            ), presence AS (
                INSERT INTO lock_presence (lock_id, last_heartbeat_at) SELECT lock_id, now() FROM updated
                ON CONFLICT (lock_id) DO UPDATE SET last_heartbeat_at = excluded.last_heartbeat_at
            )
            SELECT EXISTS (SELECT FROM updated),
                (SELECT coalesce(min(c.key_version), l.offline_key_version)
                 FROM locks l JOIN lock_models m USING (model_id)
                 LEFT JOIN access_codes c ON c.lock_id = l.lock_id AND c.is_offline AND c.state = 'active'
                     AND NOT c.expiry_removed AND c.first_used_at IS NULL
                     AND least(c.ends_at, c.starts_at + interval '24 hours') > now()
                 WHERE l.lock_id = $1 AND m.supports_offline_codes
                 GROUP BY l.offline_key_version)
            """,
            [lockID, report.batteryLevel, report.lockState, report.doorState, report.signalQuality, report.deviceTime,
             report.offlineKeyVersion, clockWrong, Self.lowBatteryThreshold, Self.batteryReplacedRise]
        ).firstRow()
        guard try row.decode(Bool.self, at: 0) else { return .needsEvents }
        return .recorded(keyVersionFloor: try row.decode(Int?.self, at: 1))
    }

    private enum SteadyHeartbeat {
        case recorded(keyVersionFloor: Int?)
        case needsEvents
    }

    /// Any heartbeat, with its events (`device.online`, `device.low_battery`, `battery.replaced`,
    /// `device.time_wrong`) in the transaction of the change.
    private func heartbeatWithEvents(lockID: UUID, ownerID: UUID, report: HeartbeatReport) async throws -> Int? {
        try await database.transaction { connection -> Int? in
            let before = try connection.query(
                "SELECT online, battery_level FROM locks WHERE lock_id = $1 FOR UPDATE", [lockID]).firstRow()
            let wasOnline = try before.decode(Bool.self, at: 0)
            let previousBattery = try before.decode(Int?.self, at: 1)
            try connection.query(
                """
                UPDATE locks SET online = true, last_heartbeat_at = now(),
                    battery_level = coalesce($2, battery_level), lock_state = coalesce($3, lock_state),
                    door_state = coalesce($4, door_state), signal_quality = coalesce($5, signal_quality),
                    device_time = coalesce($6, device_time), offline_lock_key_version = coalesce($7, offline_lock_key_version)
                WHERE lock_id = $1
                """,
                [lockID, report.batteryLevel, report.lockState, report.doorState, report.signalQuality, report.deviceTime,
                 report.offlineKeyVersion])
            // The sweeper's clock for this lock (migration 0020): locks' own columns are
            // unindexed, so the update above is HOT; only this narrow row is re-indexed.
            try connection.query(
                """
                INSERT INTO lock_presence (lock_id, last_heartbeat_at) VALUES ($1, now())
                ON CONFLICT (lock_id) DO UPDATE SET last_heartbeat_at = excluded.last_heartbeat_at
                """, [lockID])
            let device = lockID.uuidString.lowercased()
            if !wasOnline {
                try EventLog.append("device.online", ownerID: ownerID, deviceID: lockID, data: ["device_id": device], on: connection)
            }
            if let battery = report.batteryLevel, battery < Self.lowBatteryThreshold,
                (previousBattery ?? 100) >= Self.lowBatteryThreshold
            {
                try EventLog.append(
                    "device.low_battery", ownerID: ownerID, deviceID: lockID,
                    data: ["device_id": device, "battery_level": battery], on: connection)
            }
            if let battery = report.batteryLevel, let previousBattery, battery >= previousBattery + Self.batteryReplacedRise {
                try EventLog.append(
                    "battery.replaced", ownerID: ownerID, deviceID: lockID,
                    data: ["device_id": device, "battery_level": battery, "previous_battery_level": previousBattery],
                    on: connection)
            }
            if let deviceTime = report.deviceTime {
                try Self.checkClock(
                    deviceTime, tolerance: deviceTimeToleranceSeconds, lockID: lockID, ownerID: ownerID, on: connection)
            }
            return try Self.offlineKeyFloor(lockID: lockID, on: connection)
        }
    }

    /// Offline PINs are accepted within the drift tolerance of their window (scheme section 6);
    /// a lock further off refuses or admits guests at the wrong time. The first heartbeat beyond
    /// `tolerance` (by default that drift tolerance) records `device.time_wrong` and sets the
    /// lock's `DEVICE_TIME_WRONG` warning; the next heartbeat within it clears the warning.
    static func checkClock(
        _ deviceTime: Date, tolerance: Int64, lockID: UUID, ownerID: UUID, on connection: PostgresConnection
    ) throws {
        let drift = deviceTime.timeIntervalSince(Date())
        let wrong = abs(drift) > Double(tolerance)
        let was = try connection.query(
            """
            UPDATE locks l SET device_time_wrong = $2 FROM locks old
            WHERE l.lock_id = $1 AND old.lock_id = l.lock_id RETURNING old.device_time_wrong
            """, [lockID, wrong]
        ).firstRow().decode(Bool.self, at: 0)
        guard wrong, !was else { return }
        try EventLog.append(
            "device.time_wrong", ownerID: ownerID, deviceID: lockID,
            data: ["device_id": lockID.uuidString.lowercased(), "device_time": deviceTime.formatted(.iso8601),
                   "server_time": Date().formatted(.iso8601), "drift_seconds": Int(drift.rounded())],
            on: connection)
    }

    /// A code not yet reported used may still be typed for the first time until its activation
    /// window closes, so the lock must keep searching its key version until then.
    static func offlineKeyFloor(lockID: UUID, on connection: PostgresConnection) throws -> Int? {
        try connection.query(
            """
            SELECT coalesce(min(c.key_version), l.offline_key_version)
            FROM locks l JOIN lock_models m USING (model_id)
            LEFT JOIN access_codes c ON c.lock_id = l.lock_id AND c.is_offline AND c.state = 'active'
                AND NOT c.expiry_removed AND c.first_used_at IS NULL
                AND least(c.ends_at, c.starts_at + interval '24 hours') > now()
            WHERE l.lock_id = $1 AND m.supports_offline_codes
            GROUP BY l.offline_key_version
            """, [lockID]
        ).singleRow()?.decode(Int.self, at: 0)
    }

    /// Hands out the lock's due commands, oldest first, marking them delivered.
    public func takeCommands(lockID: UUID) async throws -> [DeviceCommand] {
        let rows = try await database.query(
            """
            UPDATE device_commands SET status = 'delivered', delivered_at = now()
            WHERE command_id IN (
                SELECT command_id FROM device_commands
                WHERE lock_id = $1 AND (status = 'pending'
                      OR (status = 'delivered' AND delivered_at < now() - make_interval(secs => $2)))
                ORDER BY created_at LIMIT 20 FOR UPDATE SKIP LOCKED)
            RETURNING command_id, command_type, payload::text, created_at
            """, [lockID, Self.redeliverySeconds]
        ).rows.map { row in
            (created: try row.decode(Date.self, at: 3),
             command: DeviceCommand(
                id: try row.decode(UUID.self, at: 0), type: try row.decode(String.self, at: 1),
                payload: try row.decode(String.self, at: 2)))
        }
        // UPDATE ... RETURNING has no order of its own.
        return rows.sorted { $0.created < $1.created }.map(\.command)
    }

    public enum CompletionOutcome: Sendable, Equatable { case recorded, unknownCommand, alreadyFinished }

    /// Records a command's result; for a lock or unlock, finishes its action, updates the lock
    /// state and records `lock.action_completed`.
    public func complete(
        lockID: UUID, ownerID: UUID, commandID: UUID, success: Bool, errorCode: String?, lockState: String?
    ) async throws -> CompletionOutcome {
        try await database.transaction { connection -> CompletionOutcome in
            guard let command = try connection.query(
                """
                SELECT status, action_id, command_type, access_code_id FROM device_commands
                WHERE command_id = $1 AND lock_id = $2 FOR UPDATE
                """, [commandID, lockID]
            ).singleRow() else { return .unknownCommand }
            guard ["pending", "delivered"].contains(try command.decode(String.self, at: 0)) else { return .alreadyFinished }
            try connection.query(
                "UPDATE device_commands SET status = $2, completed_at = now() WHERE command_id = $1",
                [commandID, success ? "done" : "failed"])
            if success, let lockState {
                try connection.query("UPDATE locks SET lock_state = $2 WHERE lock_id = $1", [lockID, lockState])
            }
            if let accessCodeID = try command.decode(UUID?.self, at: 3) {
                try Self.settle(
                    accessCodeID: accessCodeID, commandID: commandID, type: try command.decode(String.self, at: 2),
                    success: success, errorCode: errorCode, ownerID: ownerID, lockID: lockID, on: connection)
                return .recorded
            }
            guard let actionID = try command.decode(UUID?.self, at: 1) else { return .recorded }
            let failure = success ? nil : DeviceVocabulary.actionFailure(lockReason: errorCode)
            let action = try connection.query(
                """
                UPDATE lock_actions SET status = $2, error_code = $3, message = $4, performed_via = 'remote_api',
                    completed_at = now()
                WHERE action_id = $1 AND status = 'pending' RETURNING action, custom_id, client_id
                """, [actionID, success ? "success" : "failed", failure?.errorCode, failure?.message]
            ).singleRow()
            if let action {
                // Every field of the guide's event is present, null when it has no value.
                let data: [String: any Sendable] = [
                    "action_id": actionID.uuidString.lowercased(), "device_id": lockID.uuidString.lowercased(),
                    "lock_id": lockID.uuidString.lowercased(),
                    "action": try action.decode(String.self, at: 0), "status": success ? "success" : "failed",
                    "performed_via": "remote_api", "custom_id": EventLog.nullable(try action.decode(String?.self, at: 1)),
                    "error_code": EventLog.nullable(failure?.errorCode), "message": EventLog.nullable(failure?.message),
                ]
                try EventLog.append(
                    "lock.action_completed", ownerID: ownerID, deviceID: lockID, data: data,
                    clientID: try action.decode(String?.self, at: 2), on: connection)
            }
            return .recorded
        }
    }

    /// Moves an access code on after the lock answered a program or remove command, and sends
    /// the guide's event for it (AccessCodeEvents): a program result is `access_code.created`
    /// the first time the lock takes the code, `access_code.updated` after that; a remove
    /// result is `access_code.deleted`. A program result counts only if no newer program
    /// command for the code is still open (an update made meanwhile wins, and its own result
    /// brings the event). A refused removal leaves the code `failed` with the lock's error.
    static func settle(
        accessCodeID: UUID, commandID: UUID, type: String, success: Bool, errorCode: String?, ownerID: UUID, lockID: UUID,
        on connection: PostgresConnection
    ) throws {
        let error = errorCode ?? "DEVICE_ERROR"
        switch (type, success) {
        case ("program_code", _):
            let message = "The lock refused the code (\(error))."
            guard let row = try connection.query(
                """
                UPDATE access_codes c SET state = CASE WHEN $3 THEN 'active' ELSE 'failed' END, on_lock = c.on_lock OR $3,
                    errors = CASE WHEN $3 THEN '[]'::jsonb
                                  ELSE jsonb_build_array(jsonb_build_object('code', $4::text, 'message', $5::text)) END
                FROM access_codes old
                WHERE c.access_code_id = $1 AND old.access_code_id = c.access_code_id AND c.state = 'pending'
                  AND NOT EXISTS (
                    SELECT 1 FROM device_commands d WHERE d.access_code_id = $1 AND d.command_type = 'program_code'
                    AND d.status IN ('pending', 'delivered') AND d.command_id <> $2)
                RETURNING old.on_lock
                """, [accessCodeID, commandID, success, error, message]
            ).singleRow() else { return }
            let wasOnLock = try row.decode(Bool.self, at: 0)
            try AccessCodeEvents.append(
                wasOnLock ? "access_code.updated" : "access_code.created", accessCodeID: accessCodeID,
                outcome: success ? .success : .failed(errorCode: error, message: message), on: connection)
        case ("remove_code", true):
            let deleted = try connection.query(
                "UPDATE access_codes SET state = 'deleted', on_lock = false WHERE access_code_id = $1 AND state = 'removing'",
                [accessCodeID])
            if deleted.affectedRows == 1 {
                try AccessCodeEvents.append("access_code.deleted", accessCodeID: accessCodeID, outcome: .success, on: connection)
            } else {
                try connection.query(
                    "UPDATE access_codes SET expiry_removed = true WHERE access_code_id = $1 AND state = 'active' AND ends_at <= now()",
                    [accessCodeID])
            }
        case ("remove_code", false):
            // Never silently stuck in `removing`: the code is failed, with the lock's reason; a
            // second DELETE asks the lock again. (A refused expiry removal keeps the code
            // expired; the sweeper queues it again.)
            let message = "The lock refused to remove the code (\(error))."
            let failed = try connection.query(
                """
                UPDATE access_codes SET state = 'failed',
                    errors = jsonb_build_array(jsonb_build_object('code', $2::text, 'message', $3::text))
                WHERE access_code_id = $1 AND state = 'removing'
                """, [accessCodeID, error, message])
            if failed.affectedRows == 1 {
                try AccessCodeEvents.append(
                    "access_code.deleted", accessCodeID: accessCodeID, outcome: .failed(errorCode: error, message: message),
                    on: connection)
            }
        default:
            break
        }
    }

    public enum ReportError: Error, Equatable {
        /// The lock named an access code that is not one of its own.
        case unknownAccessCode
    }

    /// Events a lock reports on its own (someone turned the thumb-turn, the battery got low).
    public enum ReportedEvent: Sendable, Equatable {
        case locked(performedVia: String)
        case unlocked(performedVia: String)
        case batteryLow(level: Int)
        /// A person typed a PIN the lock accepted; the lock unlocked.
        case accessCodeUsed(accessCodeID: UUID)
        /// A person typed a PIN the lock refused. The PIN itself is never sent or stored.
        case incorrectPIN
        /// The lock accepted an offline PIN (or an erase code) it verified itself.
        case offlineCodeUsed(OfflineGrantReference)
        /// Someone removed an offline code at the lock, over Bluetooth.
        case offlineCodeRemovedAtLock(OfflineGrantReference)
        /// The keypad's failure budget locked it out (someone may be guessing PINs).
        case keypadLockedOut(lockedUntil: Date?)
    }

    /// Records an event from the lock with the state change it implies, in one transaction.
    public func record(_ event: ReportedEvent, lockID: UUID, ownerID: UUID, occurredAt: Date?) async throws {
        try await database.transaction { connection in
            let device = lockID.uuidString.lowercased()
            var data: [String: any Sendable] = ["device_id": device]
            if let occurredAt { data["occurred_at"] = occurredAt.formatted(.iso8601) }
            switch event {
            case .locked(let via), .unlocked(let via):
                let state = if case .locked = event { "locked" } else { "unlocked" }
                try connection.query("UPDATE locks SET lock_state = $2 WHERE lock_id = $1", [lockID, state])
                data["performed_via"] = via
                try EventLog.append("lock.\(state)", ownerID: ownerID, deviceID: lockID, data: data, on: connection)
            case .accessCodeUsed(let accessCodeID):
                guard try connection.query(
                    "SELECT 1 FROM access_codes WHERE access_code_id = $1 AND lock_id = $2", [accessCodeID, lockID]
                ).singleRow() != nil else { throw ReportError.unknownAccessCode }
                try connection.query("UPDATE locks SET lock_state = 'unlocked' WHERE lock_id = $1", [lockID])
                data["access_code_id"] = accessCodeID.uuidString.lowercased()
                try EventLog.append("access_code.used", ownerID: ownerID, deviceID: lockID, data: data, on: connection)
                data["performed_via"] = "pin_code"
                try EventLog.append("lock.unlocked", ownerID: ownerID, deviceID: lockID, data: data, on: connection)
            case .incorrectPIN:
                try EventLog.append(
                    "access_code.incorrect_attempt", ownerID: ownerID, deviceID: lockID, data: data, on: connection)
            case .offlineCodeUsed(let grant):
                try OfflineCodeReports.used(grant, lockID: lockID, ownerID: ownerID, data: data, at: occurredAt, on: connection)
            case .offlineCodeRemovedAtLock(let grant):
                try OfflineCodeReports.removedAtLock(grant, lockID: lockID, ownerID: ownerID, data: data, on: connection)
            case .keypadLockedOut(let until):
                if let until { data["locked_until"] = until.formatted(.iso8601) }
                // The lock's warning lasts until the lockout ends; a lock that does not say
                // when counts as locked out for the budget's first lockout (15 minutes).
                try connection.query(
                    "UPDATE locks SET keypad_locked_until = coalesce($2, now() + interval '15 minutes') WHERE lock_id = $1",
                    [lockID, until])
                try EventLog.append("lock.keypad_locked_out", ownerID: ownerID, deviceID: lockID, data: data, on: connection)
            case .batteryLow(let level):
                try connection.query("UPDATE locks SET battery_level = $2 WHERE lock_id = $1", [lockID, level])
                data["battery_level"] = level
                try EventLog.append("device.low_battery", ownerID: ownerID, deviceID: lockID, data: data, on: connection)
            }
        }
    }

    /// Marks locks whose heartbeats stopped as offline and records `device.offline`, in one
    /// statement (safe from any number of instances). Rows are locked in the heartbeat's order
    /// (the lock, then its presence) and a lock busy with a heartbeat is skipped: it is not
    /// silent. The presence row goes only if it is still old when deleted.
    @discardableResult
    public func markSilentLocksOffline(afterSeconds: Int) async throws -> Int {
        try await database.query(
            """
            WITH candidates AS (
                SELECT l.lock_id FROM lock_presence p JOIN locks l USING (lock_id)
                WHERE p.last_heartbeat_at < now() - make_interval(secs => $1)
                FOR NO KEY UPDATE OF l SKIP LOCKED
            ), gone AS (
                DELETE FROM lock_presence p
                WHERE p.lock_id = ANY (ARRAY(SELECT lock_id FROM candidates))
                  AND p.last_heartbeat_at < now() - make_interval(secs => $1)
                RETURNING p.lock_id
            ), silent AS (
                UPDATE locks l SET online = false
                WHERE l.lock_id = ANY (ARRAY(SELECT lock_id FROM gone)) AND l.online AND l.removed_at IS NULL
                RETURNING l.lock_id, l.owner_id
            )
            INSERT INTO events (event_type, owner_id, device_id, data)
            SELECT 'device.offline', owner_id, lock_id, jsonb_build_object('device_id', lock_id) FROM silent
            """, [afterSeconds]
        ).affectedRows
    }
}
