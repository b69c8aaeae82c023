@testable import Postgres
import Testing

@Suite("text[] values")
struct TextArrayTests {
    @Test("awkward elements survive a round trip through PostgreSQL")
    func roundTrip() async throws {
        let values = ["plain", "with,comma", "with \"quotes\"", "back\\slash", "{braces}", "NULL", "", "ünïcode"]
        try await TestDatabase.withScratchDatabase { pool, _ in
            let row = try #require(try await pool.query(
                "SELECT $1::text[], cardinality($1::text[])", [PostgresTextArray(values)]).singleRow())
            #expect(try row.decode(PostgresTextArray.self, at: 0).values == values)
            #expect(try row.decode(Int.self, at: 1) == values.count)
        }
    }
}
