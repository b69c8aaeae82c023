/// The rows of one statement, copied out of libpq's result before it is freed, so nothing
/// libpq owns ever leaves the connection's thread.
public struct PostgresResult: Sendable {
    public let columns: [String]
    public let rows: [PostgresRow]
    /// Rows inserted, updated or deleted (libpq's `PQcmdTuples`); 0 for other statements.
    public let affectedRows: Int
    /// The command tag, e.g. `INSERT 0 1` or `COMMIT`.
    public let commandTag: String

    /// The only row, or nil for none; more than one row is a programming error worth reporting.
    public func singleRow() throws -> PostgresRow? {
        guard rows.count <= 1 else {
            throw PostgresError(.misuse, "expected at most one row, got \(rows.count)")
        }
        return rows.first
    }

    /// The first row of a statement that always returns one (an aggregate, `INSERT ...
    /// RETURNING`, a row this transaction holds). Throws rather than trapping as `rows[0]`
    /// would, so a broken assumption costs one request a 500, not the process.
    public func firstRow() throws -> PostgresRow {
        guard let row = rows.first else { throw PostgresError(.misuse, "expected a row, got none") }
        return row
    }
}

/// One row. Values are decoded by column index or name into any `PostgresDecodable` type;
/// asking for a non-optional type where the column is NULL is a decoding error, not a crash.
public struct PostgresRow: Sendable {
    let columnNames: [String]
    let values: [String?]

    init(columnNames: [String], values: [String?]) {
        self.columnNames = columnNames
        self.values = values
    }

    public var count: Int { values.count }

    public func isNull(_ index: Int) -> Bool { values[index] == nil }

    public func decode<T: PostgresDecodable>(_ type: T.Type, at index: Int) throws -> T {
        guard index < values.count else {
            throw PostgresError(.decoding, "column index \(index) out of range (\(values.count) columns)")
        }
        guard let text = values[index] else {
            throw PostgresError(.decoding, "column \(columnNames[index]) is NULL, expected \(T.self)")
        }
        do {
            return try T(postgresText: text)
        } catch var error as PostgresError {
            error.column = columnNames[index]
            throw error
        }
    }

    public func decode<T: PostgresDecodable>(_ type: T?.Type, at index: Int) throws -> T? {
        guard index < values.count else {
            throw PostgresError(.decoding, "column index \(index) out of range (\(values.count) columns)")
        }
        guard values[index] != nil else { return nil }
        return try decode(T.self, at: index)
    }

    public func decode<T: PostgresDecodable>(_ type: T.Type, column name: String) throws -> T {
        try decode(type, at: try index(of: name))
    }

    public func decode<T: PostgresDecodable>(_ type: T?.Type, column name: String) throws -> T? {
        try decode(type, at: try index(of: name))
    }

    private func index(of name: String) throws -> Int {
        guard let index = columnNames.firstIndex(of: name) else {
            throw PostgresError(.decoding, "no column named \(name)")
        }
        return index
    }
}
