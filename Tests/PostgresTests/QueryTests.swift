import Foundation
@testable import Postgres
import Testing

@Suite("Queries: bound parameters, typed rows, errors")
struct QueryTests {
    @Test("values of every supported type round-trip, NULL included")
    func typedRoundTrip() async throws {
        try await TestDatabase.withScratchDatabase { pool, _ in
            let id = UUID()
            let when = Date(timeIntervalSince1970: 1_798_000_000.123456)
            let row = try #require(
                try await pool.query(
                    "SELECT $1::int, $2::text, $3::text, $4::bool, $5::uuid, $6::timestamptz, $7::bytea, $8::float8, $9::bigint",
                    [42, "héllo", nil as String?, true, id, when, PostgresBytes([0, 1, 0xfe, 0xff]), 2.5, Int64.max]
                ).singleRow())
            #expect(try row.decode(Int.self, at: 0) == 42)
            #expect(try row.decode(String.self, at: 1) == "héllo")
            #expect(try row.decode(String?.self, at: 2) == nil)
            #expect(try row.decode(Bool.self, at: 3) == true)
            #expect(try row.decode(UUID.self, at: 4) == id)
            let decoded = try row.decode(Date.self, at: 5)
            #expect(abs(decoded.timeIntervalSince(when)) < 0.000_001)
            #expect(try row.decode(PostgresBytes.self, at: 6).bytes == [0, 1, 0xfe, 0xff])
            #expect(try row.decode(Double.self, at: 7) == 2.5)
            #expect(try row.decode(Int64.self, at: 8) == Int64.max)
        }
    }

    @Test("every cell of a many-row result reads back from the shared buffer: NULLs, empty text, unicode, integer bounds")
    func cellsOfManyRows() async throws {
        try await TestDatabase.withScratchDatabase { pool, _ in
            let result = try await pool.query(
                """
                SELECT n, CASE WHEN n % 3 = 0 THEN NULL WHEN n % 3 = 1 THEN '' ELSE repeat('é', n) END,
                       n % 2 = 0, CASE WHEN n = 4 THEN NULL ELSE md5(n::text)::uuid END,
                       (-9223372036854775808 + n)::bigint, (2147483647 - n)::int
                FROM generate_series(1, 7) n ORDER BY n
                """)
            #expect(result.rows.count == 7)
            for (offset, row) in result.rows.enumerated() {
                let n = offset + 1
                #expect(try row.decode(Int.self, at: 0) == n)
                #expect(try row.decode(String?.self, at: 1) == (n % 3 == 0 ? nil : n % 3 == 1 ? "" : String(repeating: "é", count: n)))
                #expect(row.isNull(1) == (n % 3 == 0))
                #expect(try row.decode(Bool.self, at: 2) == (n % 2 == 0))
                #expect(try row.decode(UUID?.self, at: 3) == nil || n != 4)
                #expect(try row.decode(Int64.self, at: 4) == Int64.min + Int64(n))
                #expect(try row.decode(Int32.self, at: 5) == Int32.max - Int32(n))
                #expect(try row.decode(String.self, at: 0) == String(n))
            }
            let bounds = try #require(try await pool.query(
                "SELECT '-9223372036854775808'::bigint, 9223372036854775807::bigint, '9223372036854775808'::numeric, 'maybe'::text, '12345678-1234-1234-1234-1234567890AB'::text"
            ).singleRow())
            #expect(try bounds.decode(Int64.self, at: 0) == Int64.min)
            #expect(try bounds.decode(Int.self, at: 1) == Int.max)
            #expect(throws: PostgresError.self) { try bounds.decode(Int64.self, at: 2) }
            #expect(throws: PostgresError.self) { try bounds.decode(Bool.self, at: 3) }
            #expect(try bounds.decode(UUID.self, at: 4) == UUID(uuidString: "12345678-1234-1234-1234-1234567890AB"))
            #expect(throws: PostgresError.self) { try bounds.decode(UUID.self, at: 3) }
        }
    }

    @Test("NULL read as a non-optional type is a decoding error naming the column")
    func nullIntoNonOptional() async throws {
        try await TestDatabase.withScratchDatabase { pool, _ in
            let row = try #require(try await pool.query("SELECT NULL::int AS missing").singleRow())
            let error = #expect(throws: PostgresError.self) { try row.decode(Int.self, column: "missing") }
            #expect(error?.kind == .decoding)
            #expect(error?.message.contains("missing") == true)
            #expect(throws: PostgresError.self) { try row.decode(Int.self, column: "no_such_column") }
        }
    }

    @Test("hostile text is stored verbatim as a parameter, never executed")
    func parametersAreNotSQL() async throws {
        try await TestDatabase.withScratchDatabase { pool, _ in
            try await pool.query("CREATE TABLE names (name text NOT NULL)")
            let hostile = "Robert'); DROP TABLE names; --"
            try await pool.query("INSERT INTO names (name) VALUES ($1)", [hostile])
            let rows = try await pool.query("SELECT name FROM names").rows
            #expect(rows.count == 1)
            #expect(try rows[0].decode(String.self, at: 0) == hostile)
        }
    }

    @Test("server errors keep SQLSTATE, message, detail and constraint name")
    func serverErrorFields() async throws {
        try await TestDatabase.withScratchDatabase { pool, _ in
            try await pool.query(
                "CREATE TABLE accounts (email text CONSTRAINT accounts_email_key UNIQUE, age int CONSTRAINT accounts_age_check CHECK (age >= 0))")
            try await pool.query("INSERT INTO accounts (email, age) VALUES ($1, $2)", ["a@example.com", 30])

            let duplicate = await #expect(throws: PostgresError.self) {
                try await pool.query("INSERT INTO accounts (email, age) VALUES ($1, $2)", ["a@example.com", 31])
            }
            #expect(duplicate?.kind == .server)
            #expect(duplicate?.sqlState == SQLState.uniqueViolation)
            #expect(duplicate?.constraint == "accounts_email_key")
            #expect(duplicate?.table == "accounts")
            #expect(duplicate?.detail?.contains("a@example.com") == true)
            #expect(duplicate?.isUnavailable == false)

            let negative = await #expect(throws: PostgresError.self) {
                try await pool.query("INSERT INTO accounts (email, age) VALUES ($1, $2)", ["b@example.com", -1])
            }
            #expect(negative?.sqlState == SQLState.checkViolation)
            #expect(negative?.constraint == "accounts_age_check")

            let syntax = await #expect(throws: PostgresError.self) { try await pool.query("SELEC 1") }
            #expect(syntax?.sqlState == "42601")
            #expect(syntax?.message.contains("syntax error") == true)

            // The connection that saw those errors is still good.
            #expect(try await pool.query("SELECT count(*) FROM accounts").rows[0].decode(Int.self, at: 0) == 1)
        }
    }

    @Test("affected row counts and command tags are reported")
    func affectedRows() async throws {
        try await TestDatabase.withScratchDatabase { pool, _ in
            try await pool.query("CREATE TABLE items (n int)")
            let insert = try await pool.query("INSERT INTO items SELECT generate_series(1, $1::int)", [5])
            #expect(insert.affectedRows == 5)
            let update = try await pool.query("UPDATE items SET n = n + 1 WHERE n > $1", [2])
            #expect(update.affectedRows == 3)
            #expect(update.commandTag == "UPDATE 3")
        }
    }
}
