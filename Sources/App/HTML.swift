import Foundation

/// A piece of HTML. The literal parts of `"..."` are markup we wrote; every interpolated value
/// is escaped (`HTMLPage.escape`) unless it is `HTML` itself, so a page cannot put an owner's
/// or a lock's text into markup unescaped by forgetting a call: there is no raw-string door.
struct HTML: ExpressibleByStringInterpolation, Sendable {
    fileprivate(set) var text: String

    init(stringLiteral value: String) { text = value }
    init(stringInterpolation: Interpolation) { text = stringInterpolation.text }

    static let empty: HTML = ""

    struct Interpolation: StringInterpolationProtocol {
        var text = ""

        init(literalCapacity: Int, interpolationCount: Int) {
            text.reserveCapacity(literalCapacity + 16 * interpolationCount)
        }

        mutating func appendLiteral(_ literal: String) { text += literal }
        mutating func appendInterpolation(_ value: String) { text += HTMLPage.escape(value) }
        /// Nothing for nil.
        mutating func appendInterpolation(_ value: String?) { text += HTMLPage.escape(value ?? "") }
        mutating func appendInterpolation(_ value: Int) { text += String(value) }
        mutating func appendInterpolation(_ value: Int64) { text += String(value) }
        mutating func appendInterpolation(_ id: UUID) { text += id.uuidString.lowercased() }
        mutating func appendInterpolation(_ html: HTML) { text += html.text }
        mutating func appendInterpolation(_ parts: [HTML]) { for part in parts { text += part.text } }
    }

    /// `then` when `condition` holds, nothing otherwise.
    static func when(_ condition: Bool, _ then: HTML) -> HTML { condition ? then : .empty }
}
