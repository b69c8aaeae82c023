/// A position in PostgreSQL's write-ahead log (an LSN) as a byte offset, so positions compare
/// as numbers. Read replicas use it: a read may go to a replica only once the replica has
/// replayed the primary's position taken when the request was authorized (`ReadReplica`).
public struct WALPosition: Comparable, Hashable, Sendable, CustomStringConvertible {
    public let bytes: Int64

    public init(bytes: Int64) { self.bytes = bytes }

    public static func < (lhs: WALPosition, rhs: WALPosition) -> Bool { lhs.bytes < rhs.bytes }

    /// PostgreSQL's own notation, `16/B374D848`.
    public var description: String {
        let value = UInt64(bitPattern: bytes)
        return String(value >> 32, radix: 16, uppercase: true) + "/" + String(value & 0xFFFF_FFFF, radix: 16, uppercase: true)
    }

    /// A select-list column for the primary's statements: where the primary's WAL insertion
    /// stands, NULL on a server in recovery (where the function would fail). The insert
    /// position, not `pg_current_wal_lsn()` (the write position): with `synchronous_commit =
    /// off` a commit can return before its record is written, and the insert position is past
    /// every committed transaction's record either way.
    public static let primaryColumn: SQL =
        " CASE WHEN pg_is_in_recovery() THEN NULL ELSE (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::int8 END "

    /// A replica's replay position: everything up to it is visible to any snapshot taken after
    /// this statement ran. NULL on a server that is not in recovery.
    static let replayStatement: SQL = "SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::int8"
}
