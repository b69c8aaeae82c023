import Foundation
import NIOConcurrencyHelpers
@testable import Postgres
import Testing

@Suite("Pool: bounded, never hangs, off the cooperative pool, heals after a restart")
struct PoolTests {
    /// No deadlines on these pools: a statement that holds a connection must hold it for as long
    /// as the test needs, however slow the machine; the tests cancel it when done.
    static func noDeadlines(_ settings: inout PostgresConnectionSettings) {
        settings.statementTimeout = nil
        settings.queryDeadline = nil
    }

    @Test("an exhausted pool fails the waiter with poolTimeout after the acquire timeout")
    func exhaustedPoolTimesOut() async throws {
        try await TestDatabase.withScratchDatabase(poolSize: 1, acquireTimeout: .milliseconds(300), configure: Self.noDeadlines) { pool, _ in
            let holder = Task { try await pool.query("SELECT pg_sleep(600)") }
            try await eventually("the holder to check out the only connection") { pool.usage.inUse == 1 }

            let started = ContinuousClock.now
            let error = await #expect(throws: PostgresError.self) { try await pool.query("SELECT 1") }
            // Only a lower bound: a loaded machine may fail the waiter late, never early.
            #expect(ContinuousClock.now - started >= .milliseconds(250))
            #expect(error?.kind == .poolTimeout)
            #expect(error?.isUnavailable == true)
            #expect(pool.usage.waiting == 0)
            #expect(pool.usage.inUse == 1)

            holder.cancel()
            _ = await holder.result
            // Once released, the connection serves the next caller.
            #expect(try await pool.query("SELECT 7").rows[0].decode(Int.self, at: 0) == 7)
            #expect(pool.usage.inUse == 0)
        }
    }

    @Test("waiters are served in turn when connections come back")
    func waitersAreServed() async throws {
        try await TestDatabase.withScratchDatabase(poolSize: 2, acquireTimeout: .seconds(10)) { pool, _ in
            let results = try await withThrowingTaskGroup(of: Int.self) { group in
                for i in 0..<20 {
                    group.addTask { try await pool.query("SELECT $1::int, pg_sleep(0.02)", [i]).rows[0].decode(Int.self, at: 0) }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(results.sorted() == Array(0..<20))
            #expect(pool.usage.inUse == 0)
            #expect(pool.usage.waiting == 0)
            // Never more than the pool size at once, as the database sees it.
            let backends = try await pool.query(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'lockcloud'")
            #expect(try backends.rows[0].decode(Int.self, at: 0) <= 2)
        }
    }

    @Test("libpq calls run on the pool's own threads, not the cooperative pool")
    func runsOnDedicatedThreads() async throws {
        try await TestDatabase.withScratchDatabase(poolSize: 2, configure: Self.noDeadlines) { pool, _ in
            let name = try await pool.withConnection { _ in Thread.current.name ?? "" }
            #expect(name.hasPrefix("TP-#"))
            // Blocking every connection leaves the cooperative pool free: its tasks finish while
            // both connections are still busy. Both sleeps hold their connections before the
            // cooperative tasks start, and are cancelled after they finish: no clock involved.
            try await withThrowingTaskGroup(of: Void.self) { sleepers in
                for _ in 0..<2 { sleepers.addTask { _ = try await pool.query("SELECT pg_sleep(600)") } }
                try await eventually("both connections to be busy") { pool.usage.inUse == 2 }
                let cooperative = await withTaskGroup(of: Int.self) { group in
                    for i in 0..<8 { group.addTask { i } }
                    return await group.reduce(0, +)
                }
                #expect(cooperative == 28)
                #expect(pool.usage.inUse == 2)
                sleepers.cancelAll()
                while let outcome = await sleepers.nextResult() {
                    #expect(throws: PostgresError.self) { try outcome.get() }
                }
            }
            #expect(pool.usage.inUse == 0)
        }
    }

    @Test("a database restart is survived without restarting the pool")
    func healsAfterRestart() async throws {
        try await PrivateCluster.withPool(size: 2) { cluster, pool in
            // Open both connections.
            async let a = pool.query("SELECT pg_sleep(0.1)")
            async let b = pool.query("SELECT pg_sleep(0.1)")
            _ = try await (a, b)
            let before = try await pool.query("SELECT pg_backend_pid()").rows[0].decode(Int.self, at: 0)

            // Restart while the connections sit idle: the next request must still succeed,
            // because a connection the server closed is noticed at checkout and replaced.
            try await cluster.stop()
            try await cluster.start()
            let after = try await pool.query("SELECT pg_backend_pid()").rows[0].decode(Int.self, at: 0)
            #expect(after != before)

            // While the database is down, calls fail fast with an "unavailable" error: the
            // refused connection is the answer, not a wait for a free connection that runs out
            // the pool's checkout timeout (the kind tells the two apart without a clock).
            try await cluster.stop()
            let error = await #expect(throws: PostgresError.self) { try await pool.query("SELECT 1") }
            #expect(error?.isUnavailable == true)
            #expect(error?.kind == .connectionFailed)

            // And when it is back, the pool heals by itself.
            try await cluster.start()
            #expect(try await pool.query("SELECT 41 + 1").rows[0].decode(Int.self, at: 0) == 42)
        }
    }

    @Test("the database stopping in the middle of a statement fails that statement as unavailable")
    func restartDuringStatement() async throws {
        try await PrivateCluster.withPool(size: 1) { cluster, pool in
            let longQuery = Task { try await pool.query("SELECT pg_sleep(30)") }
            try await eventually("the statement to hold the connection") { pool.usage.inUse == 1 }
            try await cluster.stop()
            let error = await #expect(throws: PostgresError.self) { try await longQuery.value }
            #expect(error?.isUnavailable == true)

            try await cluster.start()
            #expect(try await pool.query("SELECT 1").rows[0].decode(Int.self, at: 0) == 1)
        }
    }
}
