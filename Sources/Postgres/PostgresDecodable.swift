import struct Foundation.Date
import struct Foundation.UUID

/// A Swift type that can be read from a column in PostgreSQL's text output format.
/// Connections set `DateStyle=ISO` and `TimeZone=UTC`, so timestamps have one known shape.
public protocol PostgresDecodable: Sendable {
    init(postgresText: String) throws
}

extension String: PostgresDecodable {
    public init(postgresText: String) { self = postgresText }
}

/// Numbers parse with their own `LosslessStringConvertible` initializer, which accepts exactly
/// what PostgreSQL prints for integer and float8 columns.
public protocol PostgresNumberDecodable: PostgresDecodable, LosslessStringConvertible {}

extension PostgresNumberDecodable {
    public init(postgresText: String) throws {
        guard let value = Self(postgresText) else { throw PostgresError.cannotDecode(postgresText, as: "\(Self.self)") }
        self = value
    }
}

extension Int: PostgresNumberDecodable {}
extension Int64: PostgresNumberDecodable {}
extension Int32: PostgresNumberDecodable {}
extension Double: PostgresNumberDecodable {}

extension Bool: PostgresDecodable {
    public init(postgresText: String) throws {
        switch postgresText {
        case "t", "true": self = true
        case "f", "false": self = false
        default: throw PostgresError.cannotDecode(postgresText, as: "Bool")
        }
    }
}

extension UUID: PostgresDecodable {
    public init(postgresText: String) throws {
        guard let value = UUID(canonicalText: postgresText) else { throw PostgresError.cannotDecode(postgresText, as: "UUID") }
        self = value
    }
}

extension Date: PostgresDecodable {
    public init(postgresText: String) throws {
        guard let value = PostgresTimestamp.parse(postgresText) else {
            throw PostgresError.cannotDecode(postgresText, as: "Date")
        }
        self = value
    }
}

extension PostgresError {
    /// The value itself is left out of the message: it may be a secret, and messages are logged.
    static func cannotDecode(_ text: String, as type: String) -> PostgresError {
        PostgresError(.decoding, "cannot decode a value of \(text.utf8.count) bytes as \(type)")
    }
}
