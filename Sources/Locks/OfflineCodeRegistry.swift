import Crypto
import Foundation
import OfflinePIN
import Postgres

/// The offline PIN registry: issues offline codes from each lock's sealed key
/// (docs/offline-pin-scheme.md) and keeps the per-lock limits of contract section 5. Every
/// issue locks the lock's row first, so the count-then-pick of two instances cannot
/// interleave; the unique slot and live-PIN indexes back that up.
public struct OfflineCodeRegistry: Sendable {
    let database: PostgresConnectionPool
    let sealer: KeySealer

    public init(database: PostgresConnectionPool, sealer: KeySealer) {
        self.database = database
        self.sealer = sealer
    }

    public func issue(
        ownerID: UUID, lockID: UUID, name: String?, request: OfflineSchedule.Request, now: Date = Date()
    ) async throws -> AccessCode {
        if let name, !StoredText.fits(name, 0...200) { throw AccessCodeError.invalidName }
        let schedule = try OfflineSchedule.plan(request, now: now)
        let result = try await database.transaction { connection -> Result<AccessCode, AccessCodeError> in
            guard let lock = try AccessCodeStore.lockForUpdate(ownerID: ownerID, lockID: lockID, on: connection) else {
                return .failure(.lockNotFound)
            }
            guard lock.supportsOffline else { return .failure(.offlineCodesNotSupported) }
            if schedule.kind == .erase, lock.lockKeyVersion != lock.issuingKeyVersion {
                return .failure(.offlineKeyChangePending(
                    "The lock has not yet confirmed the previous erase code or key rotation (it is on key version \(lock.lockKeyVersion), codes are issued with \(lock.issuingKeyVersion)); type that erase code at the lock or bring the lock online first."))
            }
            let type = schedule.kind.schemeType
            let period = OfflinePINScheme.period(of: type, startHour: schedule.startHour)
            let key = try Self.key(version: lock.issuingKeyVersion, pairingKey: sealer.open(lock.sealedKey, lockID: lockID))
            let grants = (0..<type.slots).map {
                OfflinePINScheme.Grant(
                    type: type, keyVersion: UInt16(lock.issuingKeyVersion), startHour: schedule.startHour,
                    durationHours: schedule.durationHours, slot: $0)
            }
            // The lock may still search the version before the issuing one (section 9).
            let previous: [(version: UInt16, key: SymmetricKey)] = lock.issuingKeyVersion > 1 && lock.lockKeyVersion < lock.issuingKeyVersion
                ? [(version: UInt16(lock.issuingKeyVersion - 1),
                    key: try Self.key(version: lock.issuingKeyVersion - 1, pairingKey: sealer.open(lock.sealedKey, lockID: lockID)))]
                : []
            let searched = previous + [(version: UInt16(lock.issuingKeyVersion), key: key)]
            // A PIN the lock would find as another grant first is left out: its slot stays free
            // and the next slot is tried (an empty PIN is never inserted).
            let pins = try grants.map { grant -> String in
                let pin = try OfflinePINScheme.pin(for: grant, key: key, digits: lock.offlineDigits)
                return OfflinePINScheme.isAmbiguous(pin, for: grant, keys: searched, digits: lock.offlineDigits) ? "" : pin
            }
            guard let created = try insertFirstFreeSlot(
                ownerID: ownerID, lockID: lockID, name: name, pins: pins, schedule: schedule, keyVersion: lock.issuingKeyVersion,
                period: period, maxCodes: lock.maxCodes, on: connection)
            else {
                return .failure(try Self.refusal(
                    lockID: lockID, kind: schedule.kind, period: period, maxCodes: lock.maxCodes,
                    on: connection))
            }
            if schedule.kind == .erase {
                // Codes issued from now on use the next key: they work before and after the
                // erase code is typed (the lock accepts its version and the next).
                try connection.query(
                    "UPDATE locks SET offline_key_version = offline_key_version + 1 WHERE lock_id = $1", [lockID])
            }
            return .success(created)
        }
        return try result.get()
    }

    /// One statement, under the lock's row lock: checks the lock's place limit and the period's
    /// limit, takes the first slot that is free in this key version and whose PIN equals no
    /// live code's (such a PIN could not be told apart at the keypad, so the next slot is
    /// tried: scheme section 6), inserts the code and records `access_code.created`. Nil when
    /// any check refuses; `refusal` then says which. The row comes back as the API shows it.
    private func insertFirstFreeSlot(
        ownerID: UUID, lockID: UUID, name: String?, pins: [String], schedule: OfflineSchedule, keyVersion: Int,
        period: Int64, maxCodes: Int, on connection: PostgresConnection
    ) throws -> AccessCode? {
        let warnings = try JSONSerialization.data(
            withJSONObject: schedule.warnings.map { ["code": $0.code, "message": $0.message] }, options: [.sortedKeys])
        let type = schedule.kind.schemeType
        guard let row = try connection.query(
            """
            WITH created AS (
              INSERT INTO access_codes (lock_id, owner_id, name, code, starts_at, ends_at, state, warnings,
                                        is_offline, offline_type, key_version, slot_period, slot, offline_scheme)
              SELECT $1, $2, $3, c.pin, $4, $5, 'active', $6::jsonb, true, $7, $8, $9, (c.ordinal - 1)::int, $13
              FROM unnest($10::text[]) WITH ORDINALITY AS c(pin, ordinal)
              WHERE c.pin <> '' AND live_code_count($1) < $11
                AND (SELECT count(*) FROM access_codes WHERE lock_id = $1 AND is_offline AND offline_type = $7
                       AND slot_period = $9 AND state = 'active' AND NOT expiry_removed) < $12
                AND NOT EXISTS (SELECT 1 FROM access_codes WHERE lock_id = $1 AND is_offline AND offline_type = $7
                                  AND key_version = $8 AND slot_period = $9 AND slot = c.ordinal - 1)
                AND NOT EXISTS (SELECT 1 FROM access_codes WHERE lock_id = $1 AND code = c.pin
                                  AND state IN ('pending', 'active', 'removing') AND NOT expiry_removed)
              ORDER BY c.ordinal LIMIT 1
              RETURNING *, CASE WHEN starts_at > now() THEN 'scheduled' ELSE 'active' END AS status
            ), event AS (
              -- The same data as AccessCodeEvents.append, never the PIN: an offline code is set
              -- at registration, so its event says success at once.
              INSERT INTO events (event_type, owner_id, device_id, data)
              SELECT 'access_code.created', owner_id, lock_id, jsonb_strip_nulls(jsonb_build_object(
                  'access_code_id', access_code_id, 'lock_id', lock_id, 'device_id', lock_id, 'status', 'success',
                  'access_code_status', status, 'name', name, 'is_offline_access_code', true,
                  'offline_access_code_type', offline_type,
                  'starts_at', to_char(starts_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                  'ends_at', to_char(ends_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')))
              FROM created
            )
            SELECT
            """ + AccessCode.columns + "FROM created",
            [lockID, ownerID, name, schedule.startsAt, schedule.endsAt, String(decoding: warnings, as: UTF8.self),
             schedule.kind.rawValue, keyVersion, period, PostgresTextArray(pins), maxCodes, type.slots, OfflinePINScheme.label]
        ).singleRow() else { return nil }
        return try AccessCode(row: row)
    }

    /// Why no slot was handed out, checked in the same transaction (still under the row lock).
    private static func refusal(
        lockID: UUID, kind: OfflineCodeKind, period: Int64, maxCodes: Int, on connection: PostgresConnection
    ) throws -> AccessCodeError {
        let type = kind.schemeType
        let periodName = type == .hourly ? "start hour" : "start day"
        let counts = try counts(lockID: lockID, kind: kind, period: period, on: connection)
        if counts.liveOnLock >= maxCodes { return .limitReached(max: maxCodes) }
        if counts.liveInPeriod >= type.slots {
            return .offlineSlotUnavailable(
                "This lock already has \(type.slots) \(kind.rawValue) codes for this \(periodName) (the limit); pick another \(periodName).")
        }
        return .offlineSlotUnavailable(
            "No slot is left for this \(periodName) under the lock's current key (each slot is issued once); pick another \(periodName).")
    }

    /// The two numbers a refused code was checked against, in one round trip: live codes on
    /// the lock (online and offline) and live codes of this type in this period.
    static func counts(
        lockID: UUID, kind: OfflineCodeKind, period: Int64, on connection: PostgresConnection
    ) throws -> (liveOnLock: Int, liveInPeriod: Int) {
        let row = try connection.query(
            """
            SELECT
              live_code_count($1),
              (SELECT count(*) FROM access_codes WHERE lock_id = $1 AND is_offline AND offline_type = $2
                 AND slot_period = $3 AND state = 'active' AND NOT expiry_removed)
            """, [lockID, kind.rawValue, period]
        ).firstRow()
        return (try row.decode(Int.self, at: 0), try row.decode(Int.self, at: 1))
    }

    /// Key version `version` of the chain that starts at the pairing key (version 1).
    static func key(version: Int, pairingKey: [UInt8]) -> SymmetricKey {
        var key = SymmetricKey(data: pairingKey)
        for _ in 1..<max(1, version) { key = OfflinePINScheme.nextKey(after: key) }
        return key
    }

    // MARK: - The lock's side of the registry

    /// The key a lock verifies with, for the device gateway: the version the lock is on, as the
    /// registry last heard. Nil for unknown locks and models without offline codes.
    public func lockKey(lockID: UUID) async throws -> (version: Int, key: [UInt8], digits: Int)? {
        guard let row = try await database.query(
            """
            SELECT l.offline_key_sealed, l.offline_lock_key_version, m.offline_pin_length
            FROM locks l JOIN lock_models m USING (model_id)
            WHERE l.lock_id = $1 AND l.removed_at IS NULL AND m.supports_offline_codes
            """, [lockID]
        ).singleRow() else { return nil }
        let version = try row.decode(Int.self, at: 1)
        let pairingKey = try sealer.open(try row.decode(PostgresBytes.self, at: 0).bytes, lockID: lockID)
        let key = Self.key(version: version, pairingKey: pairingKey).withUnsafeBytes { Array($0) }
        return (version, key, try row.decode(Int.self, at: 2))
    }

    /// Operator action: new codes use the next key version; codes issued before stay valid to
    /// their end (the lock searches its version and the next). Refused until the lock has
    /// caught up with the previous change. Returns the new version, or nil for an unknown lock.
    public func rotateKey(lockID: UUID) async throws -> Int? {
        try await database.transaction { connection -> Int? in
            guard let row = try connection.query(
                """
                SELECT offline_key_version, offline_lock_key_version FROM locks
                WHERE lock_id = $1 AND removed_at IS NULL FOR UPDATE
                """, [lockID]
            ).singleRow() else { return nil }
            let issuing = try row.decode(Int.self, at: 0)
            let onLock = try row.decode(Int.self, at: 1)
            guard issuing == onLock else {
                throw AccessCodeError.offlineKeyChangePending(
                    "The lock is still on key version \(onLock) and new codes already use \(issuing); it moves on once the earlier codes' activation windows have passed and it has reported in.")
            }
            try connection.query("UPDATE locks SET offline_key_version = $2 WHERE lock_id = $1", [lockID, issuing + 1])
            return issuing + 1
        }
    }
}
