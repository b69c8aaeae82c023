import Crypto
import Foundation
import Logging

/// One numbered SQL file from `migrations/`, e.g. `0001_schema_bootstrap.sql`.
public struct Migration: Sendable, Equatable {
    public let version: Int
    public let name: String
    public let sql: String
    /// SHA-256 of the file's bytes, hex; recorded when applied and compared on every start.
    public let checksum: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
        self.checksum = SHA256.hash(data: Data(sql.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Reads `NNNN_name.sql` files from a folder, in version order. Other files are ignored;
    /// two files with one version number are an error.
    public static func load(from directory: String) throws -> [Migration] {
        let files: [String]
        do {
            files = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw MigrationError.unreadableDirectory(directory, "\(error)")
        }
        var migrations: [Migration] = []
        for file in files where file.hasSuffix(".sql") {
            let stem = file.dropLast(4)
            guard let underscore = stem.firstIndex(of: "_"), let version = Int(stem[..<underscore]), version > 0 else {
                throw MigrationError.badFileName(file)
            }
            let path = (directory as NSString).appendingPathComponent(file)
            guard let data = FileManager.default.contents(atPath: path), let sql = String(data: data, encoding: .utf8) else {
                throw MigrationError.unreadableDirectory(path, "not readable as UTF-8")
            }
            migrations.append(Migration(version: version, name: String(stem), sql: sql))
        }
        migrations.sort { $0.version < $1.version }
        for (previous, next) in zip(migrations, migrations.dropFirst()) where previous.version == next.version {
            throw MigrationError.duplicateVersion(previous.name, next.name)
        }
        return migrations
    }
}

public enum MigrationError: Error, CustomStringConvertible, Equatable {
    case unreadableDirectory(String, String)
    case badFileName(String)
    case duplicateVersion(String, String)
    case changedAfterApply(name: String, recorded: String, current: String)

    public var description: String {
        switch self {
        case .unreadableDirectory(let path, let reason):
            return "cannot read migrations at \(path): \(reason)"
        case .badFileName(let file):
            return "migration file \(file) must be named NNNN_description.sql"
        case .duplicateVersion(let first, let second):
            return "migrations \(first) and \(second) share a version number"
        case .changedAfterApply(let name, let recorded, let current):
            return "migration \(name) was changed after it was applied "
                + "(recorded checksum \(recorded.prefix(12))…, file now \(current.prefix(12))…). "
                + "Applied migrations are never edited: restore the file and add a new migration."
        }
    }
}

/// Applies pending migrations in order, each in its own transaction with its record in
/// `schema_migrations`. A session advisory lock serializes concurrent migrators (several
/// instances starting at once): the second waits, then finds nothing left to do.
public struct Migrator: Sendable {
    /// Arbitrary but fixed: "LockClou" in ASCII, so it cannot clash with row-level advisory locks.
    static let advisoryLockKey: Int64 = 0x4C6F_636B_436C_6F75

    public struct Report: Sendable, Equatable {
        public var applied: [String]
        public var alreadyApplied: Int
    }

    let pool: PostgresConnectionPool
    let logger: Logger

    public init(pool: PostgresConnectionPool, logger: Logger) {
        self.pool = pool
        self.logger = logger
    }

    public func migrate(_ migrations: [Migration]) async throws -> Report {
        let report = try await pool.withConnection { connection in
            // A migration may rewrite a large table, and another instance may hold the lock
            // below for as long as its migrations take: no deadlines for this session, the
            // connection's own ones back afterwards (RESET returns to the startup options).
            connection.queryDeadline = nil
            try connection.executeScript("SET statement_timeout = 0; SET lock_timeout = 0")
            defer {
                connection.queryDeadline = connection.settings.queryDeadline
                try? connection.executeScript("RESET statement_timeout; RESET lock_timeout")
            }
            try connection.query("SELECT pg_advisory_lock($1)", [Self.advisoryLockKey])
            defer { _ = try? connection.query("SELECT pg_advisory_unlock($1)", [Self.advisoryLockKey]) }
            return try Self.apply(migrations, on: connection)
        }
        for name in report.applied {
            logger.info("applied migration", metadata: ["migration": "\(name)"])
        }
        return report
    }

    private static func apply(_ migrations: [Migration], on connection: PostgresConnection) throws -> Report {
        try connection.query(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY,
                name text NOT NULL,
                checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """)
        var recorded: [Int: (name: String, checksum: String)] = [:]
        for row in try connection.query("SELECT version, name, checksum FROM schema_migrations").rows {
            recorded[try row.decode(Int.self, at: 0)] = (try row.decode(String.self, at: 1), try row.decode(String.self, at: 2))
        }
        for migration in migrations {
            if let applied = recorded[migration.version], applied.checksum != migration.checksum {
                throw MigrationError.changedAfterApply(
                    name: migration.name, recorded: applied.checksum, current: migration.checksum)
            }
        }
        var report = Report(applied: [], alreadyApplied: 0)
        for migration in migrations {
            if recorded[migration.version] != nil {
                report.alreadyApplied += 1
                continue
            }
            try connection.transaction { connection in
                try connection.executeScript(migration.sql)
                try connection.query(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    [migration.version, migration.name, migration.checksum])
            }
            report.applied.append(migration.name)
        }
        return report
    }
}
