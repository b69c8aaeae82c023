import Foundation
import HTTPTypes
import Hummingbird
import Locks
import Logging
import NIOCore
import NIOHTTP1
import OpenAPIRuntime
import Postgres
import Webhooks

/// Turns every failure into the contract's JSON error body, in one place:
/// - our own `APIError`s as they are;
/// - decode and content-type errors from the generated code into 400 / 415 (never 500);
/// - a request the HTTP parser refuses while its body is read (bad chunk sizes, an unknown
///   `Transfer-Encoding`) into 400;
/// - an unavailable database or exhausted pool into 503, a database deadline into 504;
/// - unknown routes into a JSON 404, and an unknown method on a known path into 405;
/// - anything else into one logged 500 shape.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let routes: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return classify(error, path: request.uri.path, logger: context.logger).response()
        }
    }

    func classify(_ error: any Error, path: String, logger: Logger) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as AccessCodeError:
            return error.apiError
        case let error as WebhookError:
            return error.apiError
        case let error as ServerError:
            return classify(serverError: error, path: path, logger: logger)
        case let error as PostgresError where error.kind == .unstorableParameter:
            return .nulInText()
        case let error as PostgresError where error.isTimeout:
            logger.warning("database deadline passed", metadata: ["error": "\(error)"])
            return .databaseTimeout()
        case let error as PostgresError where error.isUnavailable:
            logger.warning("database unavailable", metadata: ["error": "\(error)"])
            return .databaseUnavailable()
        case let error as HTTPError where error.status == .notFound:
            let allowed = routes.methods(forPath: path)
            return allowed.isEmpty ? .notFound() : .methodNotAllowed(allowed: allowed)
        case is HTTPParserError:
            return Self.unparseableRequest
        case is NIOTooManyBytesError:
            return APIError(.contentTooLarge, "PAYLOAD_TOO_LARGE", "The request body is too large.")
        case let error as HTTPError where error.status == .contentTooLarge:
            return APIError(.contentTooLarge, "PAYLOAD_TOO_LARGE", "The request body is too large.")
        case let error as HTTPError where (400..<500).contains(error.status.code):
            return APIError(error.status, Self.code(for: error.status), error.body ?? error.status.reasonPhrase)
        default:
            logger.error("unhandled error", metadata: ["error": "\(String(reflecting: error))", "path": "\(path)"])
            return .internalError()
        }
    }

    private func classify(serverError: ServerError, path: String, logger: Logger) -> APIError {
        let underlying = serverError.underlyingError
        // Errors from handlers and middleware arrive wrapped once more (RuntimeError.handlerFailed,
        // .middlewareFailed); look inside for the ones we know.
        if let known = Self.find(APIError.self, in: underlying) { return known }
        if let rule = Self.find(AccessCodeError.self, in: underlying) { return rule.apiError }
        if let database = Self.find(PostgresError.self, in: underlying) {
            return classify(database, path: path, logger: logger)
        }
        if Self.find(HTTPParserError.self, in: underlying) != nil {
            return Self.unparseableRequest
        }
        if let http = Self.find(HTTPError.self, in: underlying) {
            return classify(http, path: path, logger: logger)
        }
        if let timestamp = Self.find(StrictTimestampTranscoder.InvalidTimestamp.self, in: underlying) {
            return APIError(.badRequest, "INVALID_TIMESTAMP", "\(timestamp).")
        }
        if let decoding = Self.find(DecodingError.self, in: underlying) {
            return Self.describe(decoding)
        }
        if Self.isQueryParsingError(underlying) {
            return APIError(.badRequest, "INVALID_REQUEST", "The query string is not a list of name=value pairs.")
        }
        let status = serverError.httpStatus
        if (400..<500).contains(status.code) {
            return APIError(status, Self.code(for: status), serverError.causeDescription)
        }
        logger.error(
            "unhandled error in operation",
            metadata: ["operation": "\(serverError.operationID)", "error": "\(String(reflecting: underlying))"])
        return .internalError()
    }

    /// The generated code's query decoder throws OpenAPIRuntime's `ParsingError` (internal to the
    /// runtime, so known here by its name) for a query it cannot split into pairs: `?%ZZ`, `?%`,
    /// `?&&&`, `??`. The client's fault: 400, not 500.
    static func isQueryParsingError(_ error: any Error) -> Bool {
        String(reflecting: type(of: error)) == "OpenAPIRuntime.ParsingError"
    }

    /// The error itself, or one nested in an enum payload up to two levels down.
    private static func find<T>(_ type: T.Type, in value: Any, depth: Int = 0) -> T? {
        if let match = value as? T { return match }
        guard depth < 3 else { return nil }
        for child in Mirror(reflecting: value).children {
            if let match = find(type, in: child.value, depth: depth + 1) { return match }
        }
        return nil
    }

    static func describe(_ error: DecodingError) -> APIError {
        func path(_ context: DecodingError.Context) -> String {
            let components = context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }
            return components.isEmpty ? "the body" : components.joined(separator: ".")
        }
        switch error {
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            return APIError(.badRequest, "INVALID_JSON", "The body is not valid JSON.")
        case .dataCorrupted(let context):
            return APIError(.badRequest, "INVALID_REQUEST", "Invalid value at \(path(context)): \(context.debugDescription)")
        case .keyNotFound(let key, let context):
            let location = context.codingPath.isEmpty ? "" : " in \(path(context))"
            return APIError(.badRequest, "INVALID_REQUEST", "Missing required field \(key.stringValue)\(location).")
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            return APIError(.badRequest, "INVALID_REQUEST", "Expected \(type) at \(path(context)).")
        @unknown default:
            return APIError(.badRequest, "INVALID_REQUEST", "The request could not be decoded.")
        }
    }

    /// The client sent bytes that are not HTTP (found while the body was being read, after the
    /// route was chosen): its fault, not ours.
    static let unparseableRequest = APIError(.badRequest, "INVALID_REQUEST", "The request is not valid HTTP/1.1.")

    static func code(for status: HTTPResponse.Status) -> String {
        switch status {
        case .badRequest: return "INVALID_REQUEST"
        case .unauthorized: return "UNAUTHORIZED"
        case .forbidden: return "FORBIDDEN"
        case .notFound: return "NOT_FOUND"
        case .methodNotAllowed: return "METHOD_NOT_ALLOWED"
        case .notAcceptable: return "NOT_ACCEPTABLE"
        case .contentTooLarge: return "PAYLOAD_TOO_LARGE"
        case .unsupportedMediaType: return "UNSUPPORTED_MEDIA_TYPE"
        case .unprocessableContent: return "UNPROCESSABLE_CONTENT"
        default: return "HTTP_\(status.code)"
        }
    }
}
