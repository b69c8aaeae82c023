import NIOFoundationEssentialsCompat
import Foundation
import Hummingbird

/// Parameters of an `application/x-www-form-urlencoded` body or a URL query, or a JSON object
/// of strings (the older guide's token requests). A parameter given twice is an error, as
/// RFC 6749 §3.1 requires.
struct FormParameters: Sendable {
    private(set) var values: [String: String] = [:]
    private(set) var repeated: Set<String> = []

    subscript(_ name: String) -> String? { values[name] }

    init(urlEncoded text: String) {
        var components = URLComponents()
        // '+' is a space in forms; URLComponents would keep it literal.
        components.percentEncodedQuery = text.replacingOccurrences(of: "+", with: "%20")
        for item in components.queryItems ?? [] {
            add(item.name, item.value ?? "")
        }
    }

    /// A JSON object whose values are strings (numbers and booleans are taken as text).
    init?(json data: Data) {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
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
        case unsupportedMediaType
    }

    /// Reads a request body as a form, or as a JSON object when `allowJSON`.
    static func read(_ request: inout Request, allowJSON: Bool, maxBytes: Int) async throws -> ReadResult {
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        let data = Data(buffer: try await request.collectBody(upTo: maxBytes))
        // An empty body without a type reads as an empty form: the caller then names what is missing.
        if contentType.hasPrefix("application/x-www-form-urlencoded") || (contentType.isEmpty && data.isEmpty) {
            return .parameters(FormParameters(urlEncoded: String(decoding: data, as: UTF8.self)))
        }
        if allowJSON, contentType.hasPrefix("application/json") {
            return FormParameters(json: data).map(ReadResult.parameters) ?? .malformedJSON
        }
        return .unsupportedMediaType
    }
}
