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

/// Every cell of a result, copied out of libpq's result in one buffer: a page of 199 codes is
/// 2,600 cells, and a `String` per cell (a `strlen`, most of them an allocation, and reference
/// counting for each) was a fair share of the server's CPU for a list. Cells become Swift
/// values only when decoded, most straight from their bytes. Immutable once built.
final class PostgresCells: Sendable {
    let columnNames: [String]
    let columnCount: Int
    /// The cells' text, back to back, row by row.
    let bytes: [UInt8]
    /// Where each cell (row * columnCount + column) starts in `bytes`, and its length (-1: NULL).
    let starts: [Int]
    let lengths: [Int]

    init(columnNames: [String], bytes: [UInt8], starts: [Int], lengths: [Int]) {
        self.columnNames = columnNames
        self.columnCount = columnNames.count
        self.bytes = bytes
        self.starts = starts
        self.lengths = lengths
    }
}

/// One row. Values are decoded by column index or name into any `PostgresDecodable` type;
/// asking for a non-optional type where the column is NULL is a decoding error, not a crash.
public struct PostgresRow: Sendable {
    let cells: PostgresCells
    let row: Int

    init(cells: PostgresCells, row: Int) {
        self.cells = cells
        self.row = row
    }

    var columnNames: [String] { cells.columnNames }

    public var count: Int { cells.columnCount }

    public func isNull(_ index: Int) -> Bool { cells.lengths[row * cells.columnCount + index] < 0 }

    public func decode<T: PostgresDecodable>(_ type: T.Type, at index: Int) throws -> T {
        guard index >= 0, index < count else {
            throw PostgresError(.decoding, "column index \(index) out of range (\(count) columns)")
        }
        let cell = row * cells.columnCount + index
        let length = cells.lengths[cell]
        guard length >= 0 else {
            throw PostgresError(.decoding, "column \(columnNames[index]) is NULL, expected \(T.self)")
        }
        do {
            return try cells.bytes.withUnsafeBufferPointer { all in
                try T(postgresBytes: UnsafeBufferPointer(rebasing: all[cells.starts[cell]..<cells.starts[cell] + length]))
            }
        } catch var error as PostgresError {
            error.column = columnNames[index]
            throw error
        }
    }

    public func decode<T: PostgresDecodable>(_ type: T?.Type, at index: Int) throws -> T? {
        guard index >= 0, index < count else {
            throw PostgresError(.decoding, "column index \(index) out of range (\(count) columns)")
        }
        guard !isNull(index) else { return nil }
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
