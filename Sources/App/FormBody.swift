import NIOFoundationEssentialsCompat
import Foundation
import Hummingbird

/// Parameters of an `application/x-www-form-urlencoded` body or a URL query, or a JSON object
/// of strings (the older guide's token requests). A parameter given twice is an error, as
/// RFC 6749 §3.1 requires.
struct FormParameters: Sendable {
    private(set) var values: [String: String] = [:]
    private(set) var repeated: Set<String> = []
    /// Read from a JSON body (the older guide's token request), not a form or query.
    private(set) var isJSON = false

    subscript(_ name: String) -> String? { values[name] }

    /// No parameters.
    init() {}

    /// Throws for malformed percent-encoding or text that is not UTF-8; never traps.
    init(urlEncoded text: String) throws(URLFormEncoding.Malformed) {
        for (name, value) in try URLFormEncoding.decode(text) {
            add(name, value)
        }
    }

    /// A JSON object whose values are strings (numbers and booleans are taken as text).
    init?(json data: Data) {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        isJSON = true
        for (name, value) in object {
            switch value {
            case let text as String: add(name, text)
            case let number as NSNumber: add(name, number.stringValue)
            default: continue
            }
        }
    }

    private mutating func add(_ name: String, _ value: String) {
        if values[name] != nil { repeated.insert(name) }
        values[name] = value
    }

    enum ReadResult {
        case parameters(FormParameters)
        case malformedJSON
        /// A form body with bad percent-encoding or bytes that are not UTF-8.
        case malformedForm(URLFormEncoding.Malformed)
        case unsupportedMediaType
    }

    /// Reads a request body as a form, or as a JSON object when `allowJSON`.
    static func read(_ request: inout Request, allowJSON: Bool, maxBytes: Int) async throws -> ReadResult {
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        let data = Data(buffer: try await request.collectBody(upTo: maxBytes))
        // An empty body without a type reads as an empty form: the caller then names what is missing.
        if contentType.hasPrefix("application/x-www-form-urlencoded") || (contentType.isEmpty && data.isEmpty) {
            // Validated as UTF-8 here: String(decoding:) would turn bad bytes into U+FFFD silently.
            guard let text = String(validating: data, as: UTF8.self) else { return .malformedForm(.notUTF8) }
            do { return .parameters(try FormParameters(urlEncoded: text)) } catch { return .malformedForm(error) }
        }
        if allowJSON, contentType.hasPrefix("application/json") {
            guard let parameters = FormParameters(json: data) else { return .malformedJSON }
            // The same rule as for forms: a NUL could not be stored or compared as sent.
            if parameters.values.contains(where: { $0.key.utf8.contains(0) || $0.value.utf8.contains(0) }) {
                return .malformedForm(.nulCharacter)
            }
            return .parameters(parameters)
        }
        return .unsupportedMediaType
    }
}
