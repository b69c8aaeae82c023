import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOFoundationEssentialsCompat

/// Responses of the routes written by hand (device gateway, webhooks); their request bodies
/// are read by `JSONRequestBody`.
enum HandWrittenJSON {
    static func response(_ object: Any, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: data(object))))
    }

    static func data(_ object: Any) -> Data {
        (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
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
