import Foundation
import Postgres
import Testing

/// Values from the outside world at the database boundary: what cannot be stored exactly is
/// refused before it is sent, what was stored can always be read back, and no error that may
/// be logged quotes a stored value (PINs and secrets pass through these statements).
@Suite struct UntrustedValueTests {
    @Test("text with a NUL is refused before sending, instead of being stored cut at the NUL")
    func nulRefused() async throws {
        try await TestDatabase.withScratchDatabase { pool, _ in
            try await pool.query("CREATE TABLE names (name text)")
            let refused = await #expect(throws: PostgresError.self) {
                try await pool.query("INSERT INTO names (name) VALUES ($1)", ["front\u{0}EVIL"])
            }
            #expect(refused?.kind == .unstorableParameter)
            #expect(refused?.isUnavailable == false)
            // Inside a transaction too (the blocking path), and nothing was stored either way.
            await #expect(throws: PostgresError.self) {
                try await pool.transaction { connection in
                    try connection.query("INSERT INTO names (name) VALUES ($1)", ["\u{0}"])
                }
            }
            #expect(try await pool.query("SELECT count(*) FROM names").rows[0].decode(Int.self, at: 0) == 0)
        }
    }

    @Test("errors that may be logged never quote row values, for every kind of constraint")
    func errorsQuoteNoValues() async throws {
        try await TestDatabase.withScratchDatabase { pool, _ in
            try await pool.query("CREATE TABLE owners_t (id int PRIMARY KEY)")
            try await pool.query(
                """
                CREATE TABLE codes_t (
                    pin text CONSTRAINT codes_t_pin_key UNIQUE CONSTRAINT codes_t_pin_check CHECK (length(pin) < 20),
                    secret text NOT NULL, owner int REFERENCES owners_t, at timestamptz)
                """)
            try await pool.query("INSERT INTO owners_t VALUES (1)")
            try await pool.query("INSERT INTO codes_t VALUES ($1, $2, 1)", ["482913", "s3cr3t-first"])
            let attempts: [(String, [(any PostgresEncodable)?])] = [
                ("unique", ["482913", "s3cr3t-unique", 1]),
                ("check", [String(repeating: "7", count: 25), "s3cr3t-check", 1]),
                ("not null", ["591024", nil, 1]),
                ("foreign key", ["602135", "s3cr3t-foreign", 99]),
            ]
            for (name, values) in attempts {
                let error = await #expect(throws: PostgresError.self, "\(name)") {
                    try await pool.query("INSERT INTO codes_t (pin, secret, owner) VALUES ($1, $2, $3)", values)
                }
                let texts = [error.map { "\($0)" }, error.map { String(reflecting: $0) }, error.map { "\([$0])" }].compactMap { $0 }
                #expect(texts.count == 3)
                for text in texts {
                    for value in ["482913", "77777777777", "s3cr3t", "591024", "602135", "Failing row"] {
                        #expect(!text.contains(value), "\(name): \(text)")
                    }
                    #expect(text.contains("sqlstate=23"), "\(name): \(text)")
                    #expect(text.contains("table=codes_t"), "\(name): \(text)")
                }
            }
            // A value the server quotes in its message (invalid input syntax) is not shown either.
            let syntax = await #expect(throws: PostgresError.self) {
                try await pool.query("SELECT $1::uuid", ["lcd_secret-credential"])
            }
            #expect(!"\(syntax.map { String(reflecting: $0) } ?? "")".contains("lcd_secret"))
            #expect(syntax?.sqlState == "22P02")
        }
    }

    @Test("every timestamptz PostgreSQL can hold reads back: five-digit years and BC")
    func extremeTimestampsRead() async throws {
        try await TestDatabase.withScratchDatabase { pool, _ in
            for (text, year) in [("10000-01-01 00:00:00+00", 10000), ("0001-01-01 00:00:00+00 BC", 0), ("294276-12-31 23:59:59+00", 294_276)] {
                let date = try await pool.query("SELECT $1::timestamptz", [text]).rows[0].decode(Date.self, at: 0)
                let seconds = Int64(date.timeIntervalSince1970)
                let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
                #expect(CivilDate.civil(fromDays: days).0 == Int64(year), "\(text)")
            }
            // Dates far outside any calendar are written clamped, never trapping.
            let huge = Date(timeIntervalSince1970: 1e300)
            let stored = try await pool.query("SELECT $1::timestamptz", [huge]).rows[0].decode(Date.self, at: 0)
            #expect(Int64(stored.timeIntervalSince1970) == CivilDate.supportedSeconds.upperBound)
        }
    }

    @Test("length is counted in code points, as PostgreSQL's length() and JSON Schema count it")
    func storedTextLength() {
        let combining = String(repeating: "e\u{301}", count: 150)
        #expect(combining.count == 150)
        #expect(StoredText.length(combining) == 300)
        #expect(!StoredText.fits(combining, 1...200))
        #expect(StoredText.fits(String(repeating: "é", count: 200), 1...200))
        #expect(!StoredText.fits("front\u{0}EVIL", 1...200))
        #expect(StoredText.length("👍🏽") == 2)
    }
}
