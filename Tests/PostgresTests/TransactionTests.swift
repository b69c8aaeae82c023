import Dispatch
import Foundation
@testable import Postgres
import Testing

@Suite("Transactions: always committed or rolled back; conflicts retried")
struct TransactionTests {
    @Test("a transaction's writes are visible after it commits")
    func commits() async throws {
        try await TestDatabase.withScratchDatabase { pool, _ in
            try await pool.query("CREATE TABLE ledger (amount int NOT NULL)")
            try await pool.transaction { connection in
                try connection.query("INSERT INTO ledger VALUES ($1)", [10])
                try connection.query("INSERT INTO ledger VALUES ($1)", [20])
            }
            #expect(try await pool.query("SELECT sum(amount) FROM ledger").rows[0].decode(Int.self, at: 0) == 30)
        }
    }

    @Test("an error thrown in the body rolls everything back")
    func rollsBackOnError() async throws {
        struct Abort: Error {}
        try await TestDatabase.withScratchDatabase { pool, _ in
            try await pool.query("CREATE TABLE ledger (amount int NOT NULL)")
            await #expect(throws: Abort.self) {
                try await pool.transaction { connection in
                    try connection.query("INSERT INTO ledger VALUES ($1)", [10])
                    throw Abort()
                }
            }
            #expect(try await pool.query("SELECT count(*) FROM ledger").rows[0].decode(Int.self, at: 0) == 0)
            // The connection went back to the pool clean: the next transaction works.
            try await pool.transaction { try $0.query("INSERT INTO ledger VALUES (1)") }
            #expect(try await pool.query("SELECT count(*) FROM ledger").rows[0].decode(Int.self, at: 0) == 1)
        }
    }

    @Test("a failed statement swallowed by the body still fails the transaction")
    func swallowedErrorDoesNotCommit() async throws {
        try await TestDatabase.withScratchDatabase { pool, _ in
            try await pool.query("CREATE TABLE ledger (amount int NOT NULL)")
            let error = await #expect(throws: PostgresError.self) {
                try await pool.transaction { connection in
                    try connection.query("INSERT INTO ledger VALUES ($1)", [10])
                    _ = try? connection.query("INSERT INTO ledger VALUES (NULL)")
                }
            }
            #expect(error?.kind == .misuse)
            #expect(try await pool.query("SELECT count(*) FROM ledger").rows[0].decode(Int.self, at: 0) == 0)
        }
    }

    @Test("a transaction inside a transaction is refused")
    func noNesting() async throws {
        try await TestDatabase.withScratchDatabase { pool, _ in
            let error = await #expect(throws: PostgresError.self) {
                try await pool.transaction { connection in
                    try connection.transaction { _ in }
                }
            }
            #expect(error?.kind == .misuse)
        }
    }

    @Test("serialization failures (40001) are retried until both writers succeed")
    func retriesSerializationFailures() async throws {
        try await TestDatabase.withScratchDatabase { pool, _ in
            try await pool.query("CREATE TABLE doctors (name text PRIMARY KEY, on_call bool NOT NULL)")
            try await pool.query("INSERT INTO doctors VALUES ('alice', true), ('bob', true)")
            // Classic write skew: each takes one doctor off call if another is still on call.
            // Both read before either writes (the barrier), so SERIALIZABLE must abort one.
            let barrier = Barrier(parties: 2)
            let attempts = Counter()
            func offCall(_ name: String) async throws -> Bool {
                try await pool.retryingTransaction(isolation: .serializable) { connection in
                    attempts.increment()
                    let onCall = try connection.query("SELECT count(*) FROM doctors WHERE on_call").rows[0].decode(Int.self, at: 0)
                    barrier.arriveAndWait()
                    guard onCall >= 2 else { return false }
                    try connection.query("UPDATE doctors SET on_call = false WHERE name = $1", [name])
                    return true
                }
            }
            async let first = offCall("alice")
            async let second = offCall("bob")
            let results = try await [first, second]
            // Exactly one doctor went off call; the retried transaction saw the other's commit.
            #expect(results.filter { $0 }.count == 1)
            #expect(attempts.value >= 3)
            let stillOnCall = try await pool.query("SELECT count(*) FROM doctors WHERE on_call").rows[0].decode(Int.self, at: 0)
            #expect(stillOnCall == 1)
        }
    }

    @Test("deadlocks (40P01) are retried until both transactions succeed")
    func retriesDeadlocks() async throws {
        try await TestDatabase.withScratchDatabase { pool, _ in
            try await pool.query("CREATE TABLE counters (id int PRIMARY KEY, n int NOT NULL)")
            try await pool.query("INSERT INTO counters VALUES (1, 0), (2, 0)")
            let barrier = Barrier(parties: 2)
            let attempts = Counter()
            func bump(first: Int, then second: Int) async throws {
                try await pool.retryingTransaction(isolation: .readCommitted) { connection in
                    attempts.increment()
                    try connection.query("UPDATE counters SET n = n + 1 WHERE id = $1", [first])
                    barrier.arriveAndWait()
                    try connection.query("UPDATE counters SET n = n + 1 WHERE id = $1", [second])
                }
            }
            async let a: Void = bump(first: 1, then: 2)
            async let b: Void = bump(first: 2, then: 1)
            _ = try await (a, b)
            #expect(attempts.value >= 3)
            let total = try await pool.query("SELECT sum(n) FROM counters").rows[0].decode(Int.self, at: 0)
            #expect(total == 4)
        }
    }
}

/// Lets the first attempt of two transactions meet before going on; later attempts (retries)
/// pass straight through, so a retry never waits for a partner that already finished.
final class Barrier: @unchecked Sendable {
    private let parties: Int
    private let lock = NSCondition()
    private var arrived = 0
    private var opened = false

    init(parties: Int) { self.parties = parties }

    func arriveAndWait() {
        lock.lock()
        defer { lock.unlock() }
        guard !opened else { return }
        arrived += 1
        if arrived == parties {
            opened = true
            lock.broadcast()
            return
        }
        let deadline = Date().addingTimeInterval(10)
        while !opened, lock.wait(until: deadline) {}
        opened = true
    }
}
