import Foundation
import OAuth
import Postgres

/// Owners' locks. Every query is scoped by owner, so another owner's lock is simply not found.
public struct LockStore: Sendable {
    let database: PostgresConnectionPool
    let sealer: KeySealer

    public init(database: PostgresConnectionPool, sealer: KeySealer) {
        self.database = database
        self.sealer = sealer
    }

    public struct Page: Sendable {
        public let locks: [Lock]
        public let nextCursor: String?
    }

    /// The owner's locks in pairing order (created_at, then lock_id), `limit` at a time.
    public func list(ownerID: UUID, limit: Int, cursor: String?) async throws -> Page {
        guard (1...1000).contains(limit) else { throw LockError.invalidLimit }
        guard let after = PageCursor.position(after: cursor) else { throw LockError.invalidCursor }
        let rows = try await database.query(Self.selectPage, [ownerID, after.createdAt, after.id, limit + 1]).rows
        let locks = try rows.prefix(limit).map(Lock.init(row:))
        let next = rows.count > limit ? locks.last.map { PageCursor.encode(micros: $0.createdMicros, id: $0.id) } : nil
        return Page(locks: locks, nextCursor: next)
    }

    /// What one round trip learned about a bearer token and a lock.
    public enum TokenAndLock: Sendable {
        /// No live access token with this value.
        case invalidToken
        /// A live token with these scopes; the lock, if it is the token owner's.
        case authorized(scopes: Set<Scope>, lock: Lock?)
    }

    /// The hottest read, `GET /locks/{id}`, in one statement: the access token's grant and the
    /// owner's lock together (the same conditions as `TokenService.authenticate`).
    public func find(accessToken: String, lockID: UUID) async throws -> TokenAndLock {
        guard let row = try await database.query(
            "SELECT t.scope," + Lock.columns + """
            FROM oauth_access_tokens t JOIN oauth_grants g USING (grant_id)
            LEFT JOIN (locks l JOIN lock_models m ON m.model_id = l.model_id)
                ON l.owner_id = g.owner_id AND l.lock_id = $2 AND l.removed_at IS NULL
            LEFT JOIN LATERAL live_codes_of(l.lock_id) c ON true
            WHERE t.token_hash = $1 AND t.expires_at > now() AND t.revoked_at IS NULL AND g.revoked_at IS NULL
            """, [SecretToken.hash(accessToken), lockID]
        ).singleRow() else { return .invalidToken }
        let scopes = Scope.parse(try row.decode(String.self, at: 0)) ?? []
        var lockColumns = PostgresRowReader(row, from: 1)
        let lock = row.isNull(1) ? nil : try Lock(&lockColumns)
        return .authorized(scopes: scopes, lock: lock)
    }

    /// One lock with everything `Lock(row:)` reads; callers add their conditions with AND.
    static let selectLock: SQL = "SELECT" + Lock.columns + """
        FROM locks l JOIN lock_models m ON m.model_id = l.model_id
        CROSS JOIN LATERAL live_codes_of(l.lock_id) c
        WHERE l.removed_at IS NULL
        """

    /// A page of the owner's locks ($1) after the cursor ($2 micros, $3 id), $4 rows. The page is
    /// read first and its live codes counted in one aggregate (`live_code_counts`, 0024) instead
    /// of one count per lock; the rows come out in `Lock.columns` order.
    static let selectPage: SQL = "WITH page AS MATERIALIZED (SELECT" + Lock.pageColumns + """
        FROM locks l JOIN lock_models m ON m.model_id = l.model_id
        WHERE l.removed_at IS NULL AND l.owner_id = $1 AND (l.created_at, l.lock_id) > ($2::timestamptz, $3::uuid)
        ORDER BY l.created_at, l.lock_id LIMIT $4)
        SELECT page.*, coalesce(c.live_codes, 0) FROM page
        LEFT JOIN (SELECT n.* FROM (SELECT array_agg(lock_id) AS ids FROM page) a
                   CROSS JOIN LATERAL live_code_counts(a.ids) n) c USING (lock_id)
        ORDER BY page.created_at, page.lock_id
        """

    public func find(ownerID: UUID, lockID: UUID) async throws -> Lock? {
        try await database.query(Self.selectLock + " AND l.owner_id = $1 AND l.lock_id = $2", [ownerID, lockID])
            .singleRow().map(Lock.init(row:))
    }

    public struct Pairing: Sendable {
        public let lock: Lock
        /// The lock's device gateway credential, shown once (stored only hashed).
        public let deviceCredential: String
    }

    /// Pairs a lock: creates its device credential and its offline key (sealed at rest), and
    /// records `device.added` in the same transaction.
    public func pair(ownerID: UUID, name: String, model: String?, timezone: String, address: String?) async throws -> Pairing {
        try Self.validate(name: name, address: address, timezone: timezone)
        let lockID = UUID()
        let credential = SecretToken.generate(prefix: "lcd_")
        let sealedKey = try sealer.seal(SecretToken.randomBytes(32), lockID: lockID)
        let lock = try await database.transaction { connection -> Lock? in
            let inserted = try connection.query(
                """
                INSERT INTO locks (lock_id, owner_id, model_id, name, address, timezone, device_credential_hash, offline_key_sealed)
                SELECT $1, $2, model_id, $4, $5, $6, $7, $8 FROM lock_models
                WHERE ($3::text IS NULL AND is_default) OR model_id = $3
                """,
                [lockID, ownerID, model, name, address, timezone, SecretToken.hash(credential), PostgresBytes(sealedKey)])
            guard inserted.affectedRows == 1 else { return nil }
            let lock = try Lock(row: try connection.query(Self.selectLock + " AND l.lock_id = $1", [lockID]).firstRow())
            try EventLog.append(
                "device.added", ownerID: ownerID, deviceID: lockID,
                data: ["device_id": lockID.uuidString.lowercased(), "model": lock.model, "name": lock.name], on: connection)
            return lock
        }
        guard let lock else { throw LockError.unknownModel(model ?? "(default)") }
        return Pairing(lock: lock, deviceCredential: credential)
    }

    /// Renames or moves a lock; nil fields stay as they are, an empty address clears it.
    public func update(ownerID: UUID, lockID: UUID, name: String?, address: String?, timezone: String?) async throws -> Lock? {
        if let name { try Self.validate(name: name, address: nil, timezone: nil) }
        if let address { try Self.validate(name: nil, address: address, timezone: nil) }
        if let timezone { try Self.validate(name: nil, address: nil, timezone: timezone) }
        return try await database.transaction { connection -> Lock? in
            let updated = try connection.query(
                """
                UPDATE locks SET name = coalesce($3, name),
                                 address = CASE WHEN $4::text IS NULL THEN address ELSE nullif($4, '') END,
                                 timezone = coalesce($5, timezone)
                WHERE owner_id = $1 AND lock_id = $2 AND removed_at IS NULL
                """, [ownerID, lockID, name, address, timezone])
            guard updated.affectedRows == 1 else { return nil }
            return try Lock(row: try connection.query(Self.selectLock + " AND l.lock_id = $1", [lockID]).firstRow())
        }
    }

    /// Unpairs a lock: it leaves every API and its credential stops working, while its row,
    /// history and events stay. Records `device.removed`. False when not the owner's lock.
    public func unpair(ownerID: UUID, lockID: UUID) async throws -> Bool {
        try await database.transaction { connection in
            let removed = try connection.query(
                "UPDATE locks SET removed_at = now(), online = false WHERE owner_id = $1 AND lock_id = $2 AND removed_at IS NULL",
                [ownerID, lockID])
            guard removed.affectedRows == 1 else { return false }
            try EventLog.append(
                "device.removed", ownerID: ownerID, deviceID: lockID, data: ["device_id": lockID.uuidString.lowercased()],
                on: connection)
            return true
        }
    }

    static func validate(name: String?, address: String?, timezone: String?) throws {
        if let name, !StoredText.fits(name, 1...200) || name.allSatisfy(\.isWhitespace) { throw LockError.invalidName }
        if let address, !StoredText.fits(address, 0...500) { throw LockError.invalidAddress }
        if let timezone, !TimeZoneNames.isKnown(timezone) { throw LockError.invalidTimezone(timezone) }
    }
}

/// IANA time zone names as the system's tz database knows them ("Europe/Berlin", "UTC").
enum TimeZoneNames {
    static let known = Set(TimeZone.knownTimeZoneIdentifiers)
    static func isKnown(_ name: String) -> Bool { known.contains(name) || name == "UTC" }
}

/// Opaque page cursors: base64url of "micros:uuid".
enum PageCursor {
    static func encode(micros: Int64, id: UUID) -> String {
        SecretToken.base64URL(Array("\(micros):\(id.uuidString.lowercased())".utf8))
    }

    /// Where a page starts: after the cursor's row, or before every row when there is no cursor;
    /// nil for a cursor this API did not issue.
    static func position(after cursor: String?) -> (createdAt: ExactTimestamp, id: UUID)? {
        guard let cursor else { return (.beforeAll, UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))) }
        return decode(cursor).map { (ExactTimestamp(microsSince1970: $0.micros), $0.id) }
    }

    static func decode(_ cursor: String) -> (micros: Int64, id: UUID)? {
        var base64 = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard cursor.count <= 200, let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8)
        else { return nil }
        let parts = text.split(separator: ":")
        guard parts.count == 2, let micros = Int64(parts[0]), let id = UUID(uuidString: String(parts[1])) else { return nil }
        return (micros, id)
    }
}
