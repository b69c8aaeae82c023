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

extension Int: PostgresDecodable {
    public init(postgresText: String) throws {
        guard let value = Int(postgresText) else { throw PostgresError.cannotDecode(postgresText, as: "Int") }
        self = value
    }
}

extension Int64: PostgresDecodable {
    public init(postgresText: String) throws {
        guard let value = Int64(postgresText) else { throw PostgresError.cannotDecode(postgresText, as: "Int64") }
        self = value
    }
}

extension Int32: PostgresDecodable {
    public init(postgresText: String) throws {
        guard let value = Int32(postgresText) else { throw PostgresError.cannotDecode(postgresText, as: "Int32") }
        self = value
    }
}

extension Double: PostgresDecodable {
    public init(postgresText: String) throws {
        guard let value = Double(postgresText) else { throw PostgresError.cannotDecode(postgresText, as: "Double") }
        self = value
    }
}

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
        guard let value = UUID(uuidString: postgresText) else { throw PostgresError.cannotDecode(postgresText, as: "UUID") }
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
    static func cannotDecode(_ text: String, as type: String) -> PostgresError {
        PostgresError(.decoding, "cannot decode \(text.prefix(64).debugDescription) as \(type)")
    }
}
