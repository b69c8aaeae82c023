/// `application/x-www-form-urlencoded` text (form bodies and URL queries) decoded and encoded
/// over bytes. Written by hand because Foundation's `URLComponents.percentEncodedQuery` setter
/// traps on invalid percent-encoding (`%ZZ`), and these bytes come from anyone on the internet:
/// nothing here can trap, malformed input is a value the caller answers with 400.
enum URLFormEncoding {
    enum Malformed: Error, Equatable, CustomStringConvertible {
        /// `%` not followed by two hex digits.
        case badPercentEscape
        /// The decoded bytes are not UTF-8.
        case notUTF8
        /// A NUL character (`%00`): no value of ours may hold one (PostgreSQL text cannot).
        case nulCharacter

        var description: String {
            switch self {
            case .badPercentEscape: return "a % is not followed by two hexadecimal digits"
            case .notUTF8: return "the decoded text is not UTF-8"
            case .nulCharacter: return "a value contains a NUL character"
            }
        }
    }

    /// The name-value pairs in order; a pair without `=` has the empty value, empty pairs
    /// (`a=1&&b=2`) are skipped. `+` is a space (HTML's form encoding).
    static func decode(_ text: Substring.UTF8View) throws(Malformed) -> [(name: String, value: String)] {
        var pairs: [(name: String, value: String)] = []
        for pair in text.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let equals = pair.firstIndex(of: UInt8(ascii: "="))
            let name = try decodeComponent(pair[..<(equals ?? pair.endIndex)])
            var value = ""
            if let equals { value = try decodeComponent(pair[pair.index(after: equals)...]) }
            pairs.append((name, value))
        }
        return pairs
    }

    static func decode(_ text: String) throws(Malformed) -> [(name: String, value: String)] {
        try decode(Substring(text).utf8)
    }

    /// One component: `+` to space, `%XX` to its byte, then strict UTF-8.
    static func decodeComponent(_ bytes: Substring.UTF8View.SubSequence) throws(Malformed) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index != bytes.endIndex {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "+"):
                out.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                let high = bytes.index(after: index)
                guard high != bytes.endIndex else { throw .badPercentEscape }
                let low = bytes.index(after: high)
                guard low != bytes.endIndex, let h = hexValue(bytes[high]), let l = hexValue(bytes[low]) else {
                    throw .badPercentEscape
                }
                out.append(h << 4 | l)
                index = low
            default:
                out.append(byte)
            }
            index = bytes.index(after: index)
        }
        guard !out.contains(0) else { throw .nulCharacter }
        guard let text = String(validating: out, as: UTF8.self) else { throw .notUTF8 }
        return text
    }

    /// Percent-encodes everything but RFC 3986's unreserved characters, so the result is safe
    /// in any query and no receiver can read a `+` as a space.
    static func encodeComponent(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if isUnreserved(byte) {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0f)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `name=value&...` in the given order.
    static func encode(_ pairs: [(name: String, value: String)]) -> String {
        pairs.map { encodeComponent($0.name) + "=" + encodeComponent($0.value) }.joined(separator: "&")
    }

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
