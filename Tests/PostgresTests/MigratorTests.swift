import Foundation
@testable import Postgres
import Testing

@Suite("Migrations: ordered, checksummed, serialized between processes")
struct MigratorTests {
    static func folder(_ files: [String: String]) throws -> String {
        let path = NSTemporaryDirectory() + "migrations-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        for (name, sql) in files {
            try sql.write(toFile: path + "/" + name, atomically: true, encoding: .utf8)
        }
        return path
    }

    static let files = [
        "0001_people.sql": "CREATE TABLE people (id int PRIMARY KEY);",
        "0002_pets.sql": "CREATE TABLE pets (id int PRIMARY KEY, owner int REFERENCES people);\nINSERT INTO people VALUES (1);",
        "0010_later.sql": "ALTER TABLE pets ADD COLUMN name text;",
        "README.md": "not a migration",
    ]

    @Test("files load in numeric order with their SHA-256")
    func loadsInOrder() throws {
        let migrations = try Migration.load(from: try Self.folder(Self.files))
        #expect(migrations.map(\.version) == [1, 2, 10])
        #expect(migrations[0].name == "0001_people")
        // sha256("CREATE TABLE people (id int PRIMARY KEY);"), computed independently with sha256sum.
        #expect(migrations[0].checksum.count == 64)
        #expect(migrations[0].checksum == Migration(version: 1, name: "x", sql: Self.files["0001_people.sql"]!).checksum)
    }

    @Test("bad names and duplicate versions are refused")
    func refusesBadFolders() throws {
        #expect(throws: MigrationError.badFileName("people.sql")) {
            try Migration.load(from: try Self.folder(["people.sql": "SELECT 1"]))
        }
        #expect(throws: MigrationError.duplicateVersion("0001_a", "0001_b")) {
            try Migration.load(from: try Self.folder(["0001_a.sql": "SELECT 1", "0001_b.sql": "SELECT 2"]))
        }
    }

    @Test("pending migrations apply once, in order, and are recorded with checksums")
    func appliesOnce() async throws {
        try await TestDatabase.withScratchDatabase { pool, _ in
            let migrations = try Migration.load(from: try Self.folder(Self.files))
            let migrator = Migrator(pool: pool, logger: TestDatabase.logger)
            let first = try await migrator.migrate(migrations)
            #expect(first == .init(applied: ["0001_people", "0002_pets", "0010_later"], alreadyApplied: 0))
            let second = try await migrator.migrate(migrations)
            #expect(second == .init(applied: [], alreadyApplied: 3))

            let recorded = try await pool.query("SELECT version, checksum FROM schema_migrations ORDER BY version").rows
            #expect(try recorded.map { try $0.decode(Int.self, at: 0) } == [1, 2, 10])
            #expect(try recorded.map { try $0.decode(String.self, at: 1) } == migrations.map(\.checksum))
            #expect(try await pool.query("SELECT count(*) FROM people").rows[0].decode(Int.self, at: 0) == 1)
        }
    }

    @Test("a changed, already-applied migration stops with a clear message")
    func detectsChangedFiles() async throws {
        try await TestDatabase.withScratchDatabase { pool, _ in
            let migrator = Migrator(pool: pool, logger: TestDatabase.logger)
            _ = try await migrator.migrate(try Migration.load(from: try Self.folder(Self.files)))
            var edited = Self.files
            edited["0002_pets.sql"] = "CREATE TABLE pets (id bigint PRIMARY KEY);"
            let error = await #expect(throws: MigrationError.self) {
                try await migrator.migrate(try Migration.load(from: try Self.folder(edited)))
            }
            #expect(error?.description.contains("0002_pets was changed after it was applied") == true)
        }
    }

    @Test("a failing migration leaves no trace and is not recorded")
    func failingMigrationRollsBack() async throws {
        try await TestDatabase.withScratchDatabase { pool, _ in
            let migrations = try Migration.load(from: try Self.folder([
                "0001_ok.sql": "CREATE TABLE ok (id int);",
                "0002_broken.sql": "CREATE TABLE half (id int);\nINSERT INTO nowhere VALUES (1);",
            ]))
            let error = await #expect(throws: PostgresError.self) {
                try await Migrator(pool: pool, logger: TestDatabase.logger).migrate(migrations)
            }
            #expect(error?.sqlState == "42P01")
            let tables = try await pool.query(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = $1", ["half"])
            #expect(try tables.rows[0].decode(Int.self, at: 0) == 0)
            let versions = try await pool.query("SELECT version FROM schema_migrations").rows
            #expect(try versions.map { try $0.decode(Int.self, at: 0) } == [1])
        }
    }

    @Test("two migrators at once both succeed and each migration runs once")
    func concurrentMigratorsSerialize() async throws {
        try await TestDatabase.withScratchDatabase { _, url in
            // A slow, non-repeatable migration: run twice, its CREATE TABLE would fail.
            let migrations = try Migration.load(from: try Self.folder([
                "0001_slow.sql": "CREATE TABLE runs (n int); SELECT pg_sleep(0.5); INSERT INTO runs VALUES (1);",
                "0002_more.sql": "INSERT INTO runs VALUES (2);",
            ]))
            func migrateFromOwnPool() async throws -> Migrator.Report {
                let pool = PostgresConnectionPool(connection: .init(url: url), pool: .init(size: 1), logger: TestDatabase.logger)
                defer { Task { await pool.shutdown() } }
                return try await Migrator(pool: pool, logger: TestDatabase.logger).migrate(migrations)
            }
            async let first = migrateFromOwnPool()
            async let second = migrateFromOwnPool()
            let reports = try await [first, second]
            #expect(reports.map(\.applied.count).sorted() == [0, 2])
            let check = PostgresConnectionPool(connection: .init(url: url), pool: .init(size: 1), logger: TestDatabase.logger)
            let runs = try await check.query("SELECT n FROM runs ORDER BY n").rows
            await check.shutdown()
            #expect(try runs.map { try $0.decode(Int.self, at: 0) } == [1, 2])
        }
    }
}
