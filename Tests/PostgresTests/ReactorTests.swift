import Foundation
import NIOConcurrencyHelpers
@testable import Postgres
import Testing

/// The second use of a statement on a connection goes through `PostgresReactor` (sent from the
/// caller, answered on the reactor's thread); these tests run every statement at least twice
/// per connection so that path carries them.
@Suite("Reactor: prepared statements answered without a thread per query")
struct ReactorTests {
    @Test("many concurrent statements on few connections each get their own answer")
    func concurrentAnswersDoNotMix() async throws {
        try await TestDatabase.withScratchDatabase(poolSize: 3) { pool, _ in
            let answers = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
                for i in 0..<2_000 {
                    group.addTask { (i, try await pool.query("SELECT $1::int * 2", [i]).rows[0].decode(Int.self, at: 0)) }
                }
                return try await group.reduce(into: [Int: Int]()) { $0[$1.0] = $1.1 }
            }
            #expect(answers.count == 2_000)
            #expect(answers.allSatisfy { $0.value == $0.key * 2 })
            // All but each connection's first use (which prepares the statement on a pool thread).
            #expect(pool.reactor.answered >= 2_000 - 3)
            #expect(pool.usage.inUse == 0)
        }
    }

    @Test("a server error comes back as that error and the connection stays usable")
    func serverErrorThroughReactor() async throws {
        try await TestDatabase.withScratchDatabase(poolSize: 1) { pool, _ async throws in
            #expect(try await pool.query("SELECT 10 / $1::int", [5]).rows[0].decode(Int.self, at: 0) == 2)
            let error = await #expect(throws: PostgresError.self) { try await pool.query("SELECT 10 / $1::int", [0]) }
            #expect(error?.kind == .server)
            #expect(error?.sqlState == "22012")
            #expect(try await pool.query("SELECT 10 / $1::int", [2]).rows[0].decode(Int.self, at: 0) == 5)
            #expect(pool.reactor.answered == 2)
        }
    }

    @Test("an answer that arrives in many reads is put together whole")
    func largeAnswer() async throws {
        try await TestDatabase.withScratchDatabase(poolSize: 1) { pool, _ in
            for size in [1, 3_000_000, 10, 5_000_000] {
                let rows = try await pool.query("SELECT repeat('x', $1::int), g FROM generate_series(1, 3) g", [size]).rows
                #expect(rows.count == 3)
                let lengths = try rows.map { try $0.decode(String.self, at: 0).utf8.count }
                #expect(lengths == [size, size, size])
            }
            #expect(pool.reactor.answered == 3)
        }
    }

    @Test("a backend terminated while its answer is awaited fails that statement as unavailable; the next one reconnects")
    func terminatedWhileAwaiting() async throws {
        try await TestDatabase.withScratchDatabase(poolSize: 1) { pool, url in
            _ = try await pool.query("SELECT pg_sleep($1::float8), pg_backend_pid()", [0.0])
            let pid = try await pool.query("SELECT pg_backend_pid()").rows[0].decode(Int.self, at: 0)
            let sleeper = Task { try await pool.query("SELECT pg_sleep($1::float8), pg_backend_pid()", [30.0]) }
            let admin = try PostgresConnection.connect(.init(url: url), logger: TestDatabase.logger)
            // Terminated while the reactor awaits it: wait until the server shows it running.
            try await eventually("the sleep to be awaited by the reactor") {
                try pool.reactor.waiting == 1
                    && admin.query("SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND state = 'active'", [pid])
                        .rows[0].decode(Int.self, at: 0) == 1
            }
            try admin.query("SELECT pg_terminate_backend($1)", [pid])
            let error = await #expect(throws: PostgresError.self) { try await sleeper.value }
            #expect(error?.isUnavailable == true)
            #expect(error?.kind == .connectionLost)
            let newPID = try await pool.query("SELECT pg_backend_pid()").rows[0].decode(Int.self, at: 0)
            #expect(newPID != pid)
        }
    }

    @Test("a slow statement in the reactor leaves the other connections and the cooperative pool free")
    func slowStatementBlocksNothing() async throws {
        try await TestDatabase.withScratchDatabase(poolSize: 2, configure: { $0.statementTimeout = nil; $0.queryDeadline = nil }) { pool, _ in
            _ = try await pool.query("SELECT pg_sleep($1::float8)", [0.0])
            _ = try await pool.query("SELECT pg_sleep($1::float8)", [0.0])
            // Sleeps until cancelled, so "still running" below is a fact, not a race with a clock.
            let slow = Task { try await pool.query("SELECT pg_sleep($1::float8)", [600.0]) }
            try await eventually("the slow statement to be awaited by the reactor") { pool.reactor.waiting == 1 }
            for i in 0..<20 {
                #expect(try await pool.query("SELECT $1::int + 1", [i]).rows[0].decode(Int.self, at: 0) == i + 1)
            }
            // The quick statements were answered while the slow one still ran.
            #expect(pool.reactor.waiting == 1)
            #expect(pool.usage.inUse == 1)
            slow.cancel()
            let error = await #expect(throws: PostgresError.self) { try await slow.value }
            #expect(error?.kind == .cancelled)
        }
    }
}
