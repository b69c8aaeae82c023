import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOFoundationEssentialsCompat

/// Request and response helpers for the routes written by hand (device gateway, webhooks):
/// JSON objects read loosely and checked field by field, errors in the API's shape.
enum HandWrittenJSON {
    static func body(_ request: Request, maxBytes: Int) async throws -> [String: Any] {
        guard request.headers[.contentType]?.lowercased().hasPrefix("application/json") == true else {
            throw APIError(.unsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "Send application/json.")
        }
        var request = request
        let data = Data(buffer: try await request.collectBody(upTo: maxBytes))
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw APIError(.badRequest, "INVALID_JSON", "The body is not a JSON object.")
        }
        return object
    }

    /// A field of the given type, nil when absent or null; another type is a 400.
    static func field<T>(_ object: [String: Any], _ name: String, _ type: T.Type) throws -> T? {
        guard let value = object[name], !(value is NSNull) else { return nil }
        guard let typed = value as? T else { throw APIError(.badRequest, "INVALID_REQUEST", "\(name) has the wrong type.") }
        return typed
    }

    static func response(_ object: Any, status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// HTTP Basic client credentials (RFC 6749 §2.3.1: id and secret form-encoded, then Basic).
enum BasicCredentials {
    /// nil when the header is not a well-formed Basic header.
    static func parse(_ header: String) -> (id: String, secret: String)? {
        guard header.lowercased().hasPrefix("basic "),
            let decoded = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
            let pair = String(data: decoded, encoding: .utf8), let colon = pair.firstIndex(of: ":")
        else { return nil }
        return (formDecode(String(pair[..<colon])), formDecode(String(pair[pair.index(after: colon)...])))
    }

    private static func formDecode(_ text: String) -> String {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? text
    }
}
