import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Postgres

/// JSON written byte by byte, for the bodies Seam reads most (a lock, an
/// access code, and pages of them): Foundation's JSONEncoder boxes every value of every field
/// and was most of the server's CPU for a page of 100 locks. One writer per body type
/// (`LockBody+JSON.swift`, `AccessCodeBody+JSON.swift`) serves the single reads and the lists;
/// unit tests check each against JSONEncoder's encoding of the same Codable body.
///
/// Output matches the generated routes' encoder in content (not key order, which JSON leaves
/// free): strings escaped as RFC 8259 requires (quote, backslash, control characters), all
/// else passed through as UTF-8, `/` not escaped (`.withoutEscapingSlashes`), timestamps as
/// `StrictTimestampTranscoder` writes them.
///
/// The bytes go into an array, copied into the response's buffer once at the end: written one
/// by one into a NIO ByteBuffer, each write paid for its checks (uniqueness, capacity,
/// exclusive access to the buffer's storage class), over half of the server's CPU for a list.
struct JSONWriter {
    private(set) var bytes: [UInt8] = []
    /// Whether the next member or element needs a comma before it.
    private var needsComma = false

    init(capacity: Int = 1024) {
        bytes.reserveCapacity(capacity)
    }

    // MARK: Structure

    /// `{ ... }`, with `body` writing its members.
    mutating func object(_ body: (inout JSONWriter) -> Void) {
        separate()
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
        body(&self)
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    /// `[ ... ]` of `elements`, each written by `element`.
    mutating func array<Elements: Sequence>(_ elements: Elements, _ element: (inout JSONWriter, Elements.Element) -> Void) {
        separate()
        bytes.append(UInt8(ascii: "["))
        needsComma = false
        for item in elements { element(&self, item) }
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// `"name":` before a member's value; names are the spec's, plain ASCII that needs no escaping.
    mutating func key(_ name: StaticString) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    // MARK: Members: a key and its value (`null` for nil)

    mutating func member(_ name: StaticString, _ value: String?) {
        key(name)
        if let value { string(value) } else { null() }
    }

    mutating func member(_ name: StaticString, _ value: Bool) {
        key(name)
        bool(value)
    }

    mutating func member(_ name: StaticString, _ value: Int?) {
        key(name)
        if let value { integer(value) } else { null() }
    }

    mutating func member(_ name: StaticString, _ value: Date?) {
        key(name)
        if let value { timestamp(value) } else { null() }
    }

    // MARK: Values

    /// One whole value this writer wrote earlier (`bytes` of a writer that wrote only it).
    mutating func fragment(_ value: [UInt8]) {
        separate()
        bytes.append(contentsOf: value)
        needsComma = true
    }

    mutating func null() {
        separate()
        append("null")
        needsComma = true
    }

    mutating func bool(_ value: Bool) {
        separate()
        append(value ? "true" : "false")
        needsComma = true
    }

    mutating func integer(_ value: Int) {
        separate()
        if value < 0 {
            bytes.append(UInt8(ascii: "-"))
        }
        appendDigits(value.magnitude, width: 1)
        needsComma = true
    }

    /// As JSONEncoder writes a `Double` (the shortest text that reads back as the same value).
    mutating func double(_ value: Double) {
        separate()
        bytes.append(contentsOf: value.description.utf8)
        needsComma = true
    }

    mutating func string(_ value: String) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        var value = value
        // Contiguous UTF-8 (native strings always are): copied in runs between escapes.
        value.withUTF8 { utf8 in
            var runStart = 0
            for (index, byte) in utf8.enumerated() where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
                appendEscaped(byte)
                runStart = index + 1
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
        }
        bytes.append(UInt8(ascii: "\""))
        needsComma = true
    }

    /// `"YYYY-MM-DDTHH:MM:SSZ"`, the same text as `StrictTimestampTranscoder.encode` (UTC, whole
    /// seconds), written digit by digit instead of through intermediate strings.
    mutating func timestamp(_ date: Date) {
        separate()
        let seconds = CivilDate.clampedSeconds(date.timeIntervalSince1970)
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = CivilDate.civil(fromDays: days)
        bytes.append(UInt8(ascii: "\""))
        appendDigits(UInt(year), width: 4)
        bytes.append(UInt8(ascii: "-"))
        appendDigits(UInt(month), width: 2)
        bytes.append(UInt8(ascii: "-"))
        appendDigits(UInt(day), width: 2)
        bytes.append(UInt8(ascii: "T"))
        appendDigits(UInt(secondOfDay / 3600), width: 2)
        bytes.append(UInt8(ascii: ":"))
        appendDigits(UInt(secondOfDay / 60 % 60), width: 2)
        bytes.append(UInt8(ascii: ":"))
        appendDigits(UInt(secondOfDay % 60), width: 2)
        bytes.append(UInt8(ascii: "Z"))
        bytes.append(UInt8(ascii: "\""))
        needsComma = true
    }

    // MARK: The answer

    /// A `200`-style response carrying what was written.
    func response(status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// What was written, as text (tests).
    var text: String { String(decoding: bytes, as: UTF8.self) }

    // MARK: Private

    private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }

    private mutating func append(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// Decimal digits of `value`, zero-padded to at least `width` (at most 20).
    private mutating func appendDigits(_ value: UInt, width: Int) {
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { storage in
            var index = storage.count
            var rest = value
            repeat {
                index -= 1
                storage[index] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            } while rest > 0 || storage.count - index < width
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: storage[index...]))
        }
    }

    private mutating func appendEscaped(_ byte: UInt8) {
        bytes.append(UInt8(ascii: "\\"))
        switch byte {
        case UInt8(ascii: "\""): bytes.append(UInt8(ascii: "\""))
        case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\"))
        case UInt8(ascii: "\n"): bytes.append(UInt8(ascii: "n"))
        case UInt8(ascii: "\r"): bytes.append(UInt8(ascii: "r"))
        case UInt8(ascii: "\t"): bytes.append(UInt8(ascii: "t"))
        case 0x08: bytes.append(UInt8(ascii: "b"))
        case 0x0C: bytes.append(UInt8(ascii: "f"))
        default:
            // Another control character: \u00XX (only these reach here, so the high digit is 0 or 1).
            let low = byte & 0x0F
            append("u00")
            bytes.append(UInt8(ascii: "0") + byte >> 4)
            bytes.append(low < 10 ? UInt8(ascii: "0") + low : UInt8(ascii: "a") + low - 10)
        }
    }
}
