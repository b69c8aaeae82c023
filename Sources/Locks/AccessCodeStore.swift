import Foundation
import Postgres

/// Online PIN codes. Creating, changing and deleting a code queue a command for the lock;
/// the lock's answer (through the device gateway) moves the code on. Rules hold under
/// concurrency because each change locks the lock's row first, and PIN uniqueness is a
/// unique index.
public struct AccessCodeStore: Sendable {
    let database: PostgresConnectionPool

    public init(database: PostgresConnectionPool) {
        self.database = database
    }

    public func create(
        ownerID: UUID, lockID: UUID, name: String?, code: String, startsAt: Date?, endsAt: Date?, now: Date = Date()
    ) async throws -> AccessCode {
        try Self.validate(name: name, startsAt: startsAt, endsAt: endsAt, now: now)
        let result = try await database.transaction { connection -> Result<AccessCode, AccessCodeError> in
            guard let lock = try Self.lockForUpdate(ownerID: ownerID, lockID: lockID, on: connection) else {
                return .failure(.lockNotFound)
            }
            guard lock.supportsOnline else { return .failure(.onlineCodesNotSupported) }
            guard code.count >= lock.minLength, code.count <= lock.maxLength, code.allSatisfy(\.isASCIIDigit) else {
                return .failure(.invalidCode(min: lock.minLength, max: lock.maxLength))
            }
            guard try Self.liveCount(lockID: lockID, on: connection) < lock.maxCodes else { return .failure(.limitReached(max: lock.maxCodes)) }
            let id: UUID
            do {
                id = try connection.query(
                    """
                    INSERT INTO access_codes (lock_id, owner_id, name, code, starts_at, ends_at)
                    VALUES ($1, $2, $3, $4, $5, $6) RETURNING access_code_id
                    """, [lockID, ownerID, name, code, startsAt, endsAt]
                ).firstRow().decode(UUID.self, at: 0)
            } catch let error as PostgresError where error.constraint == "access_codes_live_pin" {
                // The failed statement aborted the transaction: throw, so it is rolled back.
                throw AccessCodeError.pinConflict
            }
            // `access_code.created` waits for the lock's confirmation (DeviceGatewayStore.settle).
            try Self.queueProgram(id, on: connection)
            return .success(try Self.visible(id, on: connection))
        }
        return try result.get()
    }

    public struct Page: Sendable {
        public let codes: [AccessCode]
        public let nextCursor: String?
    }

    /// Which of a lock's codes a list shows.
    public enum ListFilter: Sendable, Equatable {
        /// Codes that are or will be on the lock: pending, scheduled, active, removing.
        case live
        /// Every code, ended, failed and removed ones too.
        case all
        /// Codes with this one status.
        case status(String)
    }

    public static let liveStatuses = ["pending", "scheduled", "active", "removing"]

    /// The lock's codes in creation order (created_at, then id); nil when the lock is not the
    /// owner's. Without a limit the page holds the lock model's code limit (at least 100), so
    /// every live code of the lock fits in one page: Seam checks duplicates against it.
    public func list(ownerID: UUID, lockID: UUID, filter: ListFilter, limit: Int?, cursor: String?) async throws -> Page? {
        if let limit, !(1...1000).contains(limit) { throw AccessCodeError.invalidLimit }
        guard let after = PageCursor.position(after: cursor) else { throw AccessCodeError.invalidCursor }
        let statuses: [String]? =
            switch filter {
            case .live: Self.liveStatuses
            case .all: nil
            case .status(let status): [status]
            }
        let rows = try await database.query(
            filter == .live ? Self.selectLivePage : Self.selectPage,
            [ownerID, lockID, after.createdAt, after.id, limit, statuses.map(PostgresTextArray.init)]
        ).rows
        // No row: not the owner's lock. Otherwise the model's limit on every row, and the codes.
        guard let first = rows.first else { return nil }
        let pageSize = try limit ?? max(100, first.decode(Int.self, at: 0))
        let codes = try rows.prefix(pageSize).compactMap { row -> AccessCode? in
            guard !row.isNull(1) else { return nil }  // the lock has no code on this page
            var reader = PostgresRowReader(row, from: 1)
            return try AccessCode(&reader)
        }
        let next = rows.count > pageSize ? codes.last.map { PageCursor.encode(micros: $0.createdMicros, id: $0.id) } : nil
        return Page(codes: codes, nextCursor: next)
    }

    /// A page of the lock's ($2, the owner's $1) codes after the cursor ($3 instant, $4 id), with
    /// a status in $6 (NULL: any), in one round trip with the lock's model limit: $5 rows, or
    /// without $5 the model's limit (at least 100), plus one to tell whether a page follows. No
    /// row when the lock is not the owner's or removed; one row with NULL codes when the page is
    /// empty. The codes come from `access_code_statuses` (0025), not `readable_access_codes`,
    /// whose join to the lock per code would repeat what the outer statement has checked once.
    /// They follow `access_codes_lock_created` (0015) in order and stop at the page's end.
    static let selectPage: SQL = pageOpening + """
          AND ($6::text[] IS NULL OR c.status = ANY ($6::text[]))
        """ + pageClosing

    /// `selectPage` for the live statuses: their codes are in state pending, active or removing,
    /// written out so that PostgreSQL reads `access_codes_lock_live` (0025), which leaves out
    /// a lock's history of removed and ended codes (a parameter could not prove the predicate).
    static let selectLivePage: SQL = pageOpening + """
          AND c.state IN ('pending', 'active', 'removing') AND c.status = ANY ($6::text[])
        """ + pageClosing

    private static let pageOpening: SQL = """
        SELECT m.max_access_codes, page.* FROM locks l JOIN lock_models m USING (model_id)
        LEFT JOIN LATERAL (SELECT
        """ + AccessCode.columns + """
          FROM access_code_statuses c
          WHERE c.owner_id = $1 AND c.lock_id = $2 AND (c.created_at, c.access_code_id) > ($3::timestamptz, $4::uuid)

        """
    private static let pageClosing: SQL = """

          ORDER BY c.created_at, c.access_code_id LIMIT coalesce($5::int, greatest(100, m.max_access_codes)) + 1
        ) page ON true
        WHERE l.owner_id = $1 AND l.lock_id = $2 AND l.removed_at IS NULL
        ORDER BY page.created_at, page.access_code_id
        """

    /// Any of the owner's codes, removed ones too (status `removed`).
    public func find(ownerID: UUID, id: UUID) async throws -> AccessCode? {
        try await database.query(
            "SELECT" + AccessCode.columns + "FROM readable_access_codes WHERE owner_id = $1 AND access_code_id = $2", [ownerID, id]
        ).singleRow().map(AccessCode.init(row:))
    }

    /// Changes name, code or times; the new version is pushed to the lock (status pending).
    public func update(
        ownerID: UUID, id: UUID, name: String?, code: String?, startsAt: Date?, endsAt: Date?, now: Date = Date()
    ) async throws -> AccessCode {
        let result = try await database.transaction { connection -> Result<AccessCode, AccessCodeError> in
            guard let current = try connection.query(
                "SELECT" + AccessCode.columns + "FROM visible_access_codes WHERE owner_id = $1 AND access_code_id = $2",
                [ownerID, id]
            ).singleRow().map(AccessCode.init(row:)), current.status != "removing" else { return .failure(.notFound) }
            guard !current.isOffline else { return .failure(.offlineImmutable) }
            guard let lock = try Self.lockForUpdate(ownerID: ownerID, lockID: current.lockID, on: connection) else {
                return .failure(.notFound)
            }
            let newStarts = startsAt ?? current.startsAt
            let newEnds = endsAt ?? current.endsAt
            do {
                try Self.validate(name: name, startsAt: newStarts, endsAt: newEnds, now: now)
            } catch let error as AccessCodeError {
                return .failure(error)
            }
            if let code, code.count < lock.minLength || code.count > lock.maxLength || !code.allSatisfy(\.isASCIIDigit) {
                return .failure(.invalidCode(min: lock.minLength, max: lock.maxLength))
            }
            do {
                try connection.query(
                    """
                    UPDATE access_codes SET name = coalesce($2, name), code = coalesce($3, code), starts_at = $4,
                        ends_at = $5, state = 'pending', errors = '[]', expiry_removed = false
                    WHERE access_code_id = $1
                    """, [id, name, code, newStarts, newEnds])
            } catch let error as PostgresError where error.constraint == "access_codes_live_pin" {
                // The failed statement aborted the transaction: throw, so it is rolled back.
                throw AccessCodeError.pinConflict
            }
            // `access_code.updated` waits for the lock's confirmation (DeviceGatewayStore.settle).
            try Self.queueProgram(id, on: connection)
            return .success(try Self.visible(id, on: connection))
        }
        return try result.get()
    }

    /// Starts removing a code from the lock: `removing` until the lock confirms, then removed.
    /// A failed code the lock never took is removed at once; one still on the lock (its
    /// removal or a change was refused) is asked for again.
    /// Offline codes cannot be deleted through the API: only at the lock (contract 5).
    public func delete(ownerID: UUID, id: UUID) async throws -> Bool {
        let result = try await database.transaction { connection -> Result<Bool, AccessCodeError> in
            guard let row = try connection.query(
                """
                UPDATE access_codes c SET state = CASE WHEN c.state = 'failed' AND NOT c.on_lock THEN 'deleted' ELSE 'removing' END
                FROM locks l
                WHERE c.access_code_id = $2 AND c.owner_id = $1 AND l.lock_id = c.lock_id AND l.removed_at IS NULL
                  AND c.state IN ('pending', 'active', 'failed', 'removing') AND NOT c.is_offline
                RETURNING c.state, c.lock_id
                """, [ownerID, id]
            ).singleRow() else {
                let offline = try connection.query(
                    "SELECT 1 FROM visible_access_codes WHERE owner_id = $1 AND access_code_id = $2 AND is_offline", [ownerID, id]
                ).singleRow()
                return offline == nil ? .success(false) : .failure(.offlineNotRemovable)
            }
            let lockID = try row.decode(UUID.self, at: 1)
            if try row.decode(String.self, at: 0) == "deleted" {
                try AccessCodeEvents.append("access_code.deleted", accessCodeID: id, outcome: .success, on: connection)
            } else {
                try Self.queueRemoval(id, lockID: lockID, on: connection)
            }
            return .success(true)
        }
        return try result.get()
    }

    /// Queues removal from the lock of every online code whose `ends_at` has passed (once
    /// each). Ended offline codes have nothing on the lock to remove: they simply stop holding
    /// a place among the lock's codes and their PIN.
    @discardableResult
    public func removeExpired() async throws -> Int {
        let offline = try await database.query(
            """
            UPDATE access_codes SET expiry_removed = true
            WHERE is_offline AND state = 'active' AND NOT expiry_removed AND ends_at <= now()
            """
        ).affectedRows
        return offline + (try await database.query(
            """
            INSERT INTO device_commands (lock_id, command_type, access_code_id, payload)
            SELECT c.lock_id, 'remove_code', c.access_code_id, jsonb_build_object('access_code_id', c.access_code_id)
            FROM access_codes c
            WHERE c.state = 'active' AND NOT c.expiry_removed AND c.ends_at <= now() AND NOT c.is_offline
              AND NOT EXISTS (SELECT 1 FROM device_commands d WHERE d.access_code_id = c.access_code_id
                              AND d.command_type = 'remove_code' AND d.status IN ('pending', 'delivered', 'done'))
            ON CONFLICT DO NOTHING
            """
        ).affectedRows)
    }

    // MARK: - Shared steps

    /// What creating a code needs of its lock (online and offline), read under its row lock.
    struct LockForCodes {
        let minLength: Int
        let maxLength: Int
        let maxCodes: Int
        let supportsOnline: Bool
        let supportsOffline: Bool
        /// Offline PIN length; 0 for models without offline PINs.
        let offlineDigits: Int
        let sealedKey: [UInt8]
        /// The key version new offline codes use, and the oldest one the lock searches.
        let issuingKeyVersion: Int
        let lockKeyVersion: Int
    }

    /// Locks the lock's row for the rest of the transaction: the count-then-insert of two
    /// concurrent creates on one lock (online or offline) cannot interleave, on any number of
    /// instances.
    static func lockForUpdate(ownerID: UUID, lockID: UUID, on connection: PostgresConnection) throws -> LockForCodes? {
        guard let row = try connection.query(
            """
            SELECT m.code_length_min, m.code_length_max, m.max_access_codes, m.supports_online_codes,
                   m.supports_offline_codes, coalesce(m.offline_pin_length, 0),
                   l.offline_key_sealed, l.offline_key_version, l.offline_lock_key_version
            FROM locks l JOIN lock_models m USING (model_id)
            WHERE l.owner_id = $1 AND l.lock_id = $2 AND l.removed_at IS NULL
            FOR UPDATE OF l
            """, [ownerID, lockID]
        ).singleRow() else { return nil }
        return LockForCodes(
            minLength: try row.decode(Int.self, at: 0), maxLength: try row.decode(Int.self, at: 1),
            maxCodes: try row.decode(Int.self, at: 2), supportsOnline: try row.decode(Bool.self, at: 3),
            supportsOffline: try row.decode(Bool.self, at: 4), offlineDigits: try row.decode(Int.self, at: 5),
            sealedKey: try row.decode(PostgresBytes.self, at: 6).bytes, issuingKeyVersion: try row.decode(Int.self, at: 7),
            lockKeyVersion: try row.decode(Int.self, at: 8))
    }

    /// Codes that hold one of the lock's places (`max_access_codes`), online and offline
    /// together (the database function `live_code_count` is the one definition).
    static func liveCount(lockID: UUID, on connection: PostgresConnection) throws -> Int {
        try connection.query("SELECT live_code_count($1)", [lockID]).firstRow().decode(Int.self, at: 0)
    }

    static func validate(name: String?, startsAt: Date?, endsAt: Date?, now: Date) throws {
        if let name, !StoredText.fits(name, 0...200) { throw AccessCodeError.invalidName }
        if let startsAt, let endsAt, endsAt <= startsAt {
            throw AccessCodeError.invalidTimeRange("ends_at must be after starts_at.")
        }
        if let endsAt, endsAt <= now { throw AccessCodeError.invalidTimeRange("ends_at is in the past.") }
    }

    static func queueProgram(_ id: UUID, on connection: PostgresConnection) throws {
        try connection.query(
            """
            INSERT INTO device_commands (lock_id, command_type, access_code_id, payload)
            SELECT lock_id, 'program_code', access_code_id,
                   jsonb_strip_nulls(jsonb_build_object('access_code_id', access_code_id, 'code', code,
                       'starts_at', to_char(starts_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                       'ends_at', to_char(ends_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')))
            FROM access_codes WHERE access_code_id = $1
            """, [id])
    }

    static func queueRemoval(_ id: UUID, lockID: UUID, on connection: PostgresConnection) throws {
        try connection.query(
            """
            INSERT INTO device_commands (lock_id, command_type, access_code_id, payload)
            VALUES ($1, 'remove_code', $2, jsonb_build_object('access_code_id', $2::uuid))
            """, [lockID, id])
    }

    static func visible(_ id: UUID, on connection: PostgresConnection) throws -> AccessCode {
        try AccessCode(row: try connection.query(
            "SELECT" + AccessCode.columns + "FROM visible_access_codes WHERE access_code_id = $1", [id]).firstRow())
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
