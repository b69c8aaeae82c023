/// A SQL statement text. It can only be written as a string literal (no interpolation), so
/// values always travel as bound parameters (`$1`, `$2`, ...) and never inside the SQL text.
public struct SQL: ExpressibleByStringLiteral, Hashable, Sendable, CustomStringConvertible {
    public let text: String

    public init(stringLiteral value: StaticString) {
        self.text = value.withUTF8Buffer { String(decoding: $0, as: UTF8.self) }
    }

    private init(text: String) { self.text = text }

    /// Two statement parts joined (a shared column list and a query's own clauses). Both are
    /// literals themselves, so the result still holds no value.
    public static func + (lhs: SQL, rhs: SQL) -> SQL { SQL(text: lhs.text + rhs.text) }

    public var description: String { text }
}
