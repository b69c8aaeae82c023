import Foundation
@testable import Postgres
import Testing

/// `PreparedStatementMode.unnamed` is what lets LockCloud run behind PgBouncer in transaction
/// mode: no statement may leave a name (or anything else) in the backend session, since the
/// next transaction may run on another one. pytests/test_pgbouncer.py runs the HTTP suite
/// through a real PgBouncer; this checks the session itself.
@Suite("Prepared statement modes: named per connection, or unnamed for a transaction pooler")
struct PreparedStatementModeTests {
    /// Runs the same parameterised statements through both of the pool's paths (the reactor's
    /// non-blocking send, a transaction on a pool thread), then reads the session's own state.
    static func sessionAfterWork(_ mode: PreparedStatementMode) async throws -> (prepared: Int, statementTimeout: String, sum: Int) {
        try await TestDatabase.withScratchDatabase(poolSize: 1, configure: { $0.preparedStatements = mode }) { pool, _ in
            var sum = 0
            for value in 1...5 {
                sum += try #require(try await pool.query("SELECT $1::int + 1", [value]).singleRow()).decode(Int.self, at: 0)
                sum += try await pool.transaction { connection in
                    try #require(try connection.query("SELECT $1::int * 2", [value]).singleRow()).decode(Int.self, at: 0)
                }
            }
            let row = try #require(
                try await pool.query("SELECT (SELECT count(*) FROM pg_prepared_statements)::int, current_setting('statement_timeout')")
                    .singleRow())
            return (try row.decode(Int.self, at: 0), try row.decode(String.self, at: 1), sum)
        }
    }

    @Test("named: each statement is prepared once in the session, and the server timeouts are set at connect")
    func namedKeepsStatementsInTheSession() async throws {
        let session = try await Self.sessionAfterWork(.named)
        #expect(session.sum == (2 + 3 + 4 + 5 + 6) + (2 + 4 + 6 + 8 + 10))
        #expect(session.prepared >= 2)
        #expect(session.statementTimeout == "10s")
    }

    @Test("unnamed: the same work leaves no prepared statement and no startup option in the session")
    func unnamedLeavesNoSessionState() async throws {
        let session = try await Self.sessionAfterWork(.unnamed)
        #expect(session.sum == (2 + 3 + 4 + 5 + 6) + (2 + 4 + 6 + 8 + 10))
        #expect(session.prepared == 0)
        // PgBouncer refuses startup options, so none are sent; the role's setting applies.
        #expect(session.statementTimeout == "0")
    }
}
