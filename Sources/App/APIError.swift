import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// An error the API answers on purpose, with the contract's body
/// `{"error_code": "UPPER_SNAKE", "message": "..."}` and a fitting status.
public struct APIError: Error, HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    public let errorCode: String
    public let message: String
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ errorCode: String, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.errorCode = errorCode
        self.message = message
        self.headers = headers
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        response()
    }

    public func response() -> Response {
        Response(status: status, headers: responseHeaders, body: .init(byteBuffer: ByteBuffer(bytes: jsonBody)))
    }

    /// Its headers with the JSON content type, and its body: the error in the API's shape.
    var responseHeaders: HTTPFields {
        var headers = self.headers
        headers[.contentType] = "application/json; charset=utf-8"
        return headers
    }

    var jsonBody: Data {
        (try? JSONEncoder.compact.encode(ErrorBody(error_code: errorCode, message: message))) ?? Data()
    }

    private struct ErrorBody: Encodable {
        let error_code: String
        let message: String
    }
}

extension APIError {
    static func notFound() -> APIError {
        APIError(.notFound, "NOT_FOUND", "No such resource.")
    }

    static func methodNotAllowed(allowed: [HTTPRequest.Method]) -> APIError {
        let list = allowed.map(\.rawValue).joined(separator: ", ")
        return APIError(
            .methodNotAllowed, "METHOD_NOT_ALLOWED", "This path accepts only: \(list).",
            headers: [.allow: list])
    }

    static func payloadTooLarge(limit: Int) -> APIError {
        APIError(.contentTooLarge, "PAYLOAD_TOO_LARGE", "The request body is larger than \(limit) bytes.")
    }

    static func databaseUnavailable() -> APIError {
        APIError(
            .serviceUnavailable, "DATABASE_UNAVAILABLE", "The database is not reachable right now; retry shortly.",
            headers: [.retryAfter: "1"])
    }

    /// A database deadline ended the request (ours, or the server's statement or lock timeout):
    /// the database is reachable but did not answer in time, e.g. a row locked by someone else.
    static func databaseTimeout() -> APIError {
        APIError(
            .gatewayTimeout, "DATABASE_TIMEOUT", "The database did not answer in time; retry shortly.",
            headers: [.retryAfter: "1"])
    }

    /// Text with a NUL character: PostgreSQL cannot store it as given (see `StoredText`).
    static func nulInText() -> APIError {
        APIError(.badRequest, "INVALID_REQUEST", "Text values must not contain NUL (U+0000) characters.")
    }

    static func internalError() -> APIError {
        APIError(.internalServerError, "INTERNAL_ERROR", "Something went wrong on our side; it has been logged.")
    }
}

extension JSONEncoder {
    /// Compact, key-sorted output: stable bytes for clients, caches and tests.
    static var compact: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
