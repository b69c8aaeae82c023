import Foundation
@testable import Postgres
import Testing

/// Statements end: at the server's lock timeout, at our own deadline when the server cannot
/// answer (a row lock with the server's timeouts off, a half-open connection), and when their
/// task is cancelled. Time is only bounded from below here; the upper bound is the test's time
/// limit, which only a hang reaches.
@Suite("Deadlines: no statement holds a request or a connection forever")
struct DeadlineTests {
    static let activeSleeps: SQL =
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query LIKE 'SELECT pg_sleep%'"

    @Test("a statement blocked on a row lock ends at our deadline with a timeout; the pool serves the next query",
          .timeLimit(.minutes(1)))
    func rowLockEndsAtDeadline() async throws {
        try await TestDatabase.withScratchDatabase(poolSize: 2, configure: {
            // The server's own timeouts off: only our deadline can end the wait.
            $0.statementTimeout = nil
            $0.lockTimeout = nil
            $0.queryDeadline = .seconds(1)
        }) { pool, url in
            try await pool.query("CREATE TABLE door (id int PRIMARY KEY, state text NOT NULL)")
            try await pool.query("INSERT INTO door VALUES ($1, $2)", [1, "locked"])
            let holder = try PostgresConnection.connect(.init(url: url), logger: TestDatabase.logger)
            try holder.query("BEGIN")
            try holder.query("SELECT state FROM door WHERE id = $1 FOR UPDATE", [1])
            // Twice: the first use prepares on a pool thread, the second goes through the reactor.
            for _ in 0..<2 {
                let started = ContinuousClock.now
                let error = await #expect(throws: PostgresError.self) {
                    try await pool.query("UPDATE door SET state = $1 WHERE id = $2", ["open", 1])
                }
                #expect(error?.kind == .timeout)
                #expect(error?.isTimeout == true)
                #expect(ContinuousClock.now - started >= .milliseconds(900))
                // The next query is served while the lock is still held.
                #expect(try await pool.query("SELECT count(*) FROM door").rows[0].decode(Int.self, at: 0) == 1)
            }
            // Cancelled on the server too, not left waiting there.
            try await eventually("the UPDATE to stop waiting on the server") {
                try holder.query(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query LIKE 'UPDATE door%'"
                ).rows[0].decode(Int.self, at: 0) == 0
            }
            try holder.query("ROLLBACK")
            try await pool.query("UPDATE door SET state = $1 WHERE id = $2", ["open", 1])
        }
    }

    @Test("the server's lock_timeout, set at connect, ends a row-lock wait as a timeout", .timeLimit(.minutes(1)))
    func serverLockTimeout() async throws {
        try await TestDatabase.withScratchDatabase(poolSize: 1, configure: { $0.lockTimeout = .milliseconds(300) }) { pool, url in
            #expect(try await pool.query("SHOW lock_timeout").rows[0].decode(String.self, at: 0) == "300ms")
            #expect(try await pool.query("SHOW statement_timeout").rows[0].decode(String.self, at: 0) == "10s")
            #expect(try await pool.query("SHOW idle_in_transaction_session_timeout").rows[0].decode(String.self, at: 0) == "30s")
            try await pool.query("CREATE TABLE door (id int PRIMARY KEY)")
            try await pool.query("INSERT INTO door VALUES ($1)", [1])
            let holder = try PostgresConnection.connect(.init(url: url), logger: TestDatabase.logger)
            try holder.query("BEGIN")
            try holder.query("SELECT id FROM door WHERE id = $1 FOR UPDATE", [1])
            let error = await #expect(throws: PostgresError.self) {
                try await pool.transaction { try $0.query("DELETE FROM door WHERE id = $1", [1]) }
            }
            #expect(error?.sqlState == SQLState.lockNotAvailable)
            #expect(error?.isTimeout == true)
            try holder.query("ROLLBACK")
            #expect(try await pool.query("SELECT count(*) FROM door").rows[0].decode(Int.self, at: 0) == 1)
        }
    }

    @Test("cancelling the task of a running pg_sleep cancels it on the server", .timeLimit(.minutes(1)))
    func taskCancellationCancelsOnServer() async throws {
        try await TestDatabase.withScratchDatabase(poolSize: 1) { pool, url in
            _ = try await pool.query("SELECT pg_sleep($1::float8)", [0.0])  // prepared: the next use takes the reactor
            let admin = try PostgresConnection.connect(.init(url: url), logger: TestDatabase.logger)
            for path in ["reactor", "pool thread"] {
                let sleeper = Task {
                    if path == "reactor" {
                        try await pool.query("SELECT pg_sleep($1::float8)", [60.0])
                    } else {
                        try await pool.withConnection { try $0.query("SELECT pg_sleep($1::float8)", [60.0]) }
                    }
                }
                try await eventually("the \(path) sleep to run") {
                    try admin.query(Self.activeSleeps).rows[0].decode(Int.self, at: 0) == 1
                }
                sleeper.cancel()
                let error = await #expect(throws: PostgresError.self, "\(path)") { try await sleeper.value }
                #expect(error?.kind == .cancelled, "\(path)")
                try await eventually("the \(path) sleep to end on the server") {
                    try admin.query(Self.activeSleeps).rows[0].decode(Int.self, at: 0) == 0
                }
            }
            #expect(try await pool.query("SELECT 1").rows[0].decode(Int.self, at: 0) == 1)
        }
    }

    @Test("a connection that stops answering mid-query ends at the deadline, is discarded, and the pool works again",
          .timeLimit(.minutes(1)))
    func halfOpenConnection() async throws {
        try await TestDatabase.withScratchDatabase(poolSize: 1) { _, url in
            let proxy = try TCPProxy(to: url)
            defer { proxy.stop() }
            let settings = PostgresConnectionSettings(
                url: try proxy.url(for: url), queryDeadline: .seconds(1), cancelGrace: .milliseconds(500))
            let pool = PostgresConnectionPool(
                connection: settings, pool: .init(size: 1, acquireTimeout: .seconds(30)), logger: TestDatabase.logger)
            let sql: SQL = "SELECT pg_backend_pid(), pg_sleep($1::float8)"
            let first = try await pool.query(sql, [0.0]).rows[0].decode(Int.self, at: 0)

            // Through the reactor (the statement is prepared on this connection).
            proxy.freezeOpenConnections()
            let started = ContinuousClock.now
            let error = await #expect(throws: PostgresError.self) { try await pool.query(sql, [0.0]) }
            #expect(error?.kind == .timeout)
            #expect(ContinuousClock.now - started >= .milliseconds(900))
            let second = try await pool.query(sql, [0.0]).rows[0].decode(Int.self, at: 0)
            #expect(second != first)

            // On a pool thread, inside a transaction.
            proxy.freezeOpenConnections()
            let blocked = await #expect(throws: PostgresError.self) {
                try await pool.transaction { try $0.query("SELECT 1") }
            }
            #expect(blocked?.kind == .timeout)
            #expect(try await pool.query("SELECT 2").rows[0].decode(Int.self, at: 0) == 2)
            #expect(pool.usage.inUse == 0)
            await pool.shutdown()
        }
    }

    @Test("a socket number reused by a new connection wakes only the new connection's waiter", .timeLimit(.minutes(1)))
    func reusedSocketNumber() async throws {
        try await TestDatabase.withScratchDatabase(poolSize: 1) { pool, url in
            let settings = PostgresConnectionSettings(url: url, queryDeadline: .seconds(2), cancelGrace: .milliseconds(500))
            let sql: SQL = "SELECT $1::int, pg_sleep($2::float8)"
            let old = try PostgresConnection.connect(settings, logger: TestDatabase.logger)
            try old.query(sql, [0, 0.0])
            let oldSocket = try #require(try old.sendPrepared(sql, [1, 5.0]))
            let oldAnswer = Task { try await pool.reactor.result(of: old, socket: oldSocket) }
            try await eventually("the old statement's waiter") { pool.reactor.waiting == 1 }
            // The number is freed while its waiter is still registered; the kernel hands out the
            // lowest free number, so the next connection usually gets the same one.
            old.close()
            let new = try PostgresConnection.connect(settings, logger: TestDatabase.logger)
            try new.query(sql, [0, 0.0])
            let newSocket = try #require(try new.sendPrepared(sql, [2, 0.0]))
            let answer = try await pool.reactor.result(of: new, socket: newSocket)
            #expect(try answer.rows[0].decode(Int.self, at: 0) == 2)
            // The old waiter is not woken by the new connection's answer; its deadline ends it.
            let error = await #expect(throws: PostgresError.self) { try await oldAnswer.value }
            #expect(error?.kind == .timeout)
            new.close()
        }
    }
}
