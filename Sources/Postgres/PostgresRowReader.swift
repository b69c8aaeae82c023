/// Reads a row's columns one after the other, for a statement whose select list is written out
/// beside the code that reads it (`Lock.columns`, `AccessCode.columns`). Positions instead of
/// names: looking a name up in every row was a linear search per column per row, the most
/// frequent work in a page of 100 locks or 199 codes.
public struct PostgresRowReader {
    public let row: PostgresRow
    /// The position of the next column to read.
    public private(set) var index: Int

    public init(_ row: PostgresRow, from index: Int = 0) {
        self.row = row
        self.index = index
    }

    public mutating func next<T: PostgresDecodable>(_ type: T.Type) throws -> T {
        defer { index += 1 }
        return try row.decode(type, at: index)
    }

    public mutating func next<T: PostgresDecodable>(_ type: T?.Type) throws -> T? {
        defer { index += 1 }
        return try row.decode(type, at: index)
    }
}
