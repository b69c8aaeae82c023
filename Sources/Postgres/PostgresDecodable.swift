import struct Foundation.Date
import struct Foundation.UUID

/// A Swift type that can be read from a column in PostgreSQL's text output format.
/// Connections set `DateStyle=ISO` and `TimeZone=UTC`, so timestamps have one known shape.
public protocol PostgresDecodable: Sendable {
    init(postgresText: String) throws
    /// The same value from the cell's bytes as the result holds them (UTF-8 text, no NUL).
    /// Types that parse bytes anyway read them directly, without a `String` in between.
    init(postgresBytes: UnsafeBufferPointer<UInt8>) throws
}

extension PostgresDecodable {
    public init(postgresBytes: UnsafeBufferPointer<UInt8>) throws {
        try self.init(postgresText: String(decoding: postgresBytes, as: UTF8.self))
    }
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

/// Integers: PostgreSQL prints `-?[0-9]+`, read here digit by digit with overflow checks;
/// anything else goes through `LosslessStringConvertible` as before (and fails there).
public protocol PostgresIntegerDecodable: PostgresNumberDecodable, FixedWidthInteger {}

extension PostgresIntegerDecodable {
    public init(postgresBytes bytes: UnsafeBufferPointer<UInt8>) throws {
        if let value = Self.plainDecimal(bytes) {
            self = value
        } else {
            try self.init(postgresText: String(decoding: bytes, as: UTF8.self))
        }
    }

    private static func plainDecimal(_ bytes: UnsafeBufferPointer<UInt8>) -> Self? {
        let negative = bytes.first == UInt8(ascii: "-")
        let digits = negative ? bytes.dropFirst() : bytes[...]
        guard !digits.isEmpty, digits.count <= 20 else { return nil }
        var value: Self = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (shifted, overflow) = value.multipliedReportingOverflow(by: 10)
            // Negative numbers accumulate downwards, so that Self.min fits.
            let digit = Self(byte - UInt8(ascii: "0"))
            let (next, overflowToo) = negative ? shifted.subtractingReportingOverflow(digit) : shifted.addingReportingOverflow(digit)
            guard !overflow, !overflowToo else { return nil }
            value = next
        }
        return value
    }
}

extension Int: PostgresIntegerDecodable {}
extension Int64: PostgresIntegerDecodable {}
extension Int32: PostgresIntegerDecodable {}
extension Double: PostgresNumberDecodable {}

extension Bool: PostgresDecodable {
    public init(postgresBytes bytes: UnsafeBufferPointer<UInt8>) throws {
        if bytes.count == 1, bytes[0] == UInt8(ascii: "t") {
            self = true
        } else if bytes.count == 1, bytes[0] == UInt8(ascii: "f") {
            self = false
        } else {
            try self.init(postgresText: String(decoding: bytes, as: UTF8.self))
        }
    }

    public init(postgresText: String) throws {
        switch postgresText {
        case "t", "true": self = true
        case "f", "false": self = false
        default: throw PostgresError.cannotDecode(postgresText, as: "Bool")
        }
    }
}

extension UUID: PostgresDecodable {
    public init(postgresBytes bytes: UnsafeBufferPointer<UInt8>) throws {
        guard let value = UUID(canonicalBytes: bytes) else { throw PostgresError.cannotDecode(bytes.count, as: "UUID") }
        self = value
    }

    public init(postgresText: String) throws {
        guard let value = UUID(canonicalText: postgresText) else { throw PostgresError.cannotDecode(postgresText, as: "UUID") }
        self = value
    }
}

extension Date: PostgresDecodable {
    public init(postgresBytes bytes: UnsafeBufferPointer<UInt8>) throws {
        guard let value = PostgresTimestamp.parse(bytes) else { throw PostgresError.cannotDecode(bytes.count, as: "Date") }
        self = value
    }

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
        cannotDecode(text.utf8.count, as: type)
    }

    static func cannotDecode(_ byteCount: Int, as type: String) -> PostgresError {
        PostgresError(.decoding, "cannot decode a value of \(byteCount) bytes as \(type)")
    }
}
