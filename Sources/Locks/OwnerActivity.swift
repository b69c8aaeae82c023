import Foundation
import Postgres

/// One of an owner's events as the account pages show it.
public struct ActivityEntry: Sendable {
    public let seq: Int64
    public let type: String
    public let lockID: UUID?
    /// The lock's name now (removed locks keep theirs).
    public let lockName: String?
    public let occurredAt: Date
    /// The event's `data` object as JSON text.
    public let data: String
}

/// The owner's own event history, newest first: everything, whichever client caused it (the
/// owner is the one party entitled to all of it). Pages go backwards by `seq`.
public struct OwnerActivity: Sendable {
    let database: PostgresConnectionPool

    public init(database: PostgresConnectionPool) {
        self.database = database
    }

    public struct Page: Sendable {
        public let entries: [ActivityEntry]
        /// The `before` of the next (older) page; nil on the last one.
        public let nextBefore: Int64?
    }

    /// Up to `limit` events older than `before`, of one lock and one type when given.
    public func page(ownerID: UUID, lockID: UUID?, type: String?, before: Int64?, limit: Int) async throws -> Page {
        let rows = try await database.query(
            """
            SELECT e.seq, e.event_type, e.device_id, l.name, e.occurred_at, e.data::text
            FROM events e LEFT JOIN locks l ON l.lock_id = e.device_id AND l.owner_id = e.owner_id
            WHERE e.owner_id = $1 AND ($2::uuid IS NULL OR e.device_id = $2) AND ($3::text IS NULL OR e.event_type = $3)
              AND ($4::bigint IS NULL OR e.seq < $4)
            ORDER BY e.seq DESC LIMIT $5
            """, [ownerID, lockID, type, before, limit + 1]
        ).rows
        let entries = try rows.prefix(limit).map { row in
            ActivityEntry(
                seq: try row.decode(Int64.self, at: 0), type: try row.decode(String.self, at: 1),
                lockID: try row.decode(UUID?.self, at: 2), lockName: try row.decode(String?.self, at: 3),
                occurredAt: try row.decode(Date.self, at: 4), data: try row.decode(String.self, at: 5))
        }
        return Page(entries: entries, nextBefore: rows.count > limit ? entries.last?.seq : nil)
    }
}
