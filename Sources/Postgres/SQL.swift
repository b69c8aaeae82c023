/// A SQL statement text. It can only be written as a string literal (no interpolation), so
/// values always travel as bound parameters (`$1`, `$2`, ...) and never inside the SQL text.
public struct SQL: ExpressibleByStringLiteral, Hashable, Sendable, CustomStringConvertible {
    public let text: String

    public init(stringLiteral value: StaticString) {
        self.text = value.withUTF8Buffer { String(decoding: $0, as: UTF8.self) }
    }

    public var description: String { text }
}
