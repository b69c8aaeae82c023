import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Postgres

/// JSON written straight into a response buffer, for the bodies Seam reads most (a lock, an
/// access code, and pages of them): Foundation's JSONEncoder boxes every value of every field
/// and was most of the server's CPU for a page of 100 locks. One writer per body type
/// (`LockBody+JSON.swift`, `AccessCodeBody+JSON.swift`) serves the single reads and the lists;
/// unit tests check each against JSONEncoder's encoding of the same Codable body.
///
/// Output matches the generated routes' encoder in content (not key order, which JSON leaves
/// free): strings escaped as RFC 8259 requires (quote, backslash, control characters), all
/// else passed through as UTF-8, `/` not escaped (`.withoutEscapingSlashes`), timestamps as
/// `StrictTimestampTranscoder` writes them.
struct JSONWriter {
    private(set) var buffer: ByteBuffer
    /// Whether the next member or element needs a comma before it.
    private var needsComma = false

    init(capacity: Int = 1024) {
        buffer = ByteBufferAllocator().buffer(capacity: capacity)
    }

    // MARK: Structure

    /// `{ ... }`, with `body` writing its members.
    mutating func object(_ body: (inout JSONWriter) -> Void) {
        separate()
        buffer.writeInteger(UInt8(ascii: "{"))
        needsComma = false
        body(&self)
        buffer.writeInteger(UInt8(ascii: "}"))
        needsComma = true
    }

    /// `[ ... ]` of `elements`, each written by `element`.
    mutating func array<Elements: Sequence>(_ elements: Elements, _ element: (inout JSONWriter, Elements.Element) -> Void) {
        separate()
        buffer.writeInteger(UInt8(ascii: "["))
        needsComma = false
        for item in elements { element(&self, item) }
        buffer.writeInteger(UInt8(ascii: "]"))
        needsComma = true
    }

    /// `"name":` before a member's value; names are the spec's, plain ASCII that needs no escaping.
    mutating func key(_ name: StaticString) {
        separate()
        buffer.writeInteger(UInt8(ascii: "\""))
        buffer.writeStaticString(name)
        buffer.writeInteger(UInt8(ascii: "\""))
        buffer.writeInteger(UInt8(ascii: ":"))
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

    mutating func null() {
        separate()
        buffer.writeStaticString("null")
        needsComma = true
    }

    mutating func bool(_ value: Bool) {
        separate()
        buffer.writeStaticString(value ? "true" : "false")
        needsComma = true
    }

    mutating func integer(_ value: Int) {
        separate()
        if value < 0 {
            buffer.writeInteger(UInt8(ascii: "-"))
        }
        writeDigits(value.magnitude, width: 1)
        needsComma = true
    }

    /// As JSONEncoder writes a `Double` (the shortest text that reads back as the same value).
    mutating func double(_ value: Double) {
        separate()
        buffer.writeString(value.description)
        needsComma = true
    }

    mutating func string(_ value: String) {
        separate()
        buffer.writeInteger(UInt8(ascii: "\""))
        var value = value
        // Contiguous UTF-8 (native strings always are): copied in runs between escapes.
        value.withUTF8 { bytes in
            var runStart = 0
            for (index, byte) in bytes.enumerated() where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                buffer.writeBytes(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[runStart..<index]))
                writeEscaped(byte)
                runStart = index + 1
            }
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[runStart...]))
        }
        buffer.writeInteger(UInt8(ascii: "\""))
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
        buffer.writeInteger(UInt8(ascii: "\""))
        writeDigits(UInt(year), width: 4)
        buffer.writeInteger(UInt8(ascii: "-"))
        writeDigits(UInt(month), width: 2)
        buffer.writeInteger(UInt8(ascii: "-"))
        writeDigits(UInt(day), width: 2)
        buffer.writeInteger(UInt8(ascii: "T"))
        writeDigits(UInt(secondOfDay / 3600), width: 2)
        buffer.writeInteger(UInt8(ascii: ":"))
        writeDigits(UInt(secondOfDay / 60 % 60), width: 2)
        buffer.writeInteger(UInt8(ascii: ":"))
        writeDigits(UInt(secondOfDay % 60), width: 2)
        buffer.writeInteger(UInt8(ascii: "Z"))
        buffer.writeInteger(UInt8(ascii: "\""))
        needsComma = true
    }

    // MARK: The answer

    /// A `200`-style response carrying what was written.
    func response(status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: buffer))
    }

    /// What was written, as text (tests).
    var text: String { String(buffer: buffer) }

    // MARK: Private

    private mutating func separate() {
        if needsComma { buffer.writeInteger(UInt8(ascii: ",")) }
    }

    /// Decimal digits of `value`, zero-padded to at least `width`.
    private mutating func writeDigits(_ value: UInt, width: Int) {
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
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(storage)[index...]))
        }
    }

    private mutating func writeEscaped(_ byte: UInt8) {
        buffer.writeInteger(UInt8(ascii: "\\"))
        switch byte {
        case UInt8(ascii: "\""): buffer.writeInteger(UInt8(ascii: "\""))
        case UInt8(ascii: "\\"): buffer.writeInteger(UInt8(ascii: "\\"))
        case UInt8(ascii: "\n"): buffer.writeInteger(UInt8(ascii: "n"))
        case UInt8(ascii: "\r"): buffer.writeInteger(UInt8(ascii: "r"))
        case UInt8(ascii: "\t"): buffer.writeInteger(UInt8(ascii: "t"))
        case 0x08: buffer.writeInteger(UInt8(ascii: "b"))
        case 0x0C: buffer.writeInteger(UInt8(ascii: "f"))
        default:
            // Another control character: \u00XX (only these reach here, so the high digit is 0 or 1).
            let low = byte & 0x0F
            buffer.writeStaticString("u00")
            buffer.writeInteger(UInt8(ascii: "0") + byte >> 4)
            buffer.writeInteger(low < 10 ? UInt8(ascii: "0") + low : UInt8(ascii: "a") + low - 10)
        }
    }
}
