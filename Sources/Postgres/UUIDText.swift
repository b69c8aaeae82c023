import struct Foundation.UUID

/// UUIDs to and from their canonical text (`8-4-4-4-12` hex digits) over bytes. Foundation's
/// `UUID(uuidString:)` parses with `sscanf` and `uuidString` prints with `snprintf` (then an
/// uppercase string that the API lowercases): with three ids per access code, that was a fifth
/// of the server's CPU for a lock's list of 199 codes.
extension UUID {
    /// The canonical form, hex digits in either case (PostgreSQL prints lowercase); nil for
    /// anything else, including what `sscanf` would let through (spaces, `0x`).
    public init?(canonicalText text: String) {
        var text = text
        guard let value = text.withUTF8({ UUID(canonicalBytes: $0) }) else { return nil }
        self = value
    }

    /// `init?(canonicalText:)` over the text's UTF-8 bytes.
    public init?(canonicalBytes bytes: UnsafeBufferPointer<UInt8>) {
        let parsed: Bytes? = {
            guard bytes.count == 36 else { return nil }
            var uuid: Bytes = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            let ok = withUnsafeMutableBytes(of: &uuid) { out -> Bool in
                var position = 0
                for index in 0..<16 {
                    if position == 8 || position == 13 || position == 18 || position == 23 {
                        guard bytes[position] == UInt8(ascii: "-") else { return false }
                        position += 1
                    }
                    guard let high = Self.hexValue(bytes[position]), let low = Self.hexValue(bytes[position + 1]) else {
                        return false
                    }
                    out[index] = high << 4 | low
                    position += 2
                }
                return true
            }
            return ok ? uuid : nil
        }()
        guard let parsed else { return nil }
        self.init(uuid: parsed)
    }

    /// The canonical form in lowercase, as PostgreSQL prints it and the API writes ids.
    public var lowercasedText: String {
        let digits: StaticString = "0123456789abcdef"
        return withUnsafeBytes(of: uuid) { uuid in
            String(unsafeUninitializedCapacity: 36) { out in
                digits.withUTF8Buffer { hex in
                    var position = 0
                    for index in 0..<16 {
                        if index == 4 || index == 6 || index == 8 || index == 10 {
                            out[position] = UInt8(ascii: "-")
                            position += 1
                        }
                        out[position] = hex[Int(uuid[index] >> 4)]
                        out[position + 1] = hex[Int(uuid[index] & 0x0F)]
                        position += 2
                    }
                    return position
                }
            }
        }
    }

    private typealias Bytes = (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                               UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8)

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
