import Hummingbird
import NIOCore

/// Refuses request bodies over the configured size with 413 before any handler sees them.
/// A declared `Content-Length` is checked up front; a chunked body is read up to the limit.
struct RequestBodyLimitMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let maxBytes: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }) {
            guard declared <= maxBytes else { throw APIError.payloadTooLarge(limit: maxBytes) }
            return try await next(request, context)
        }
        guard request.headers[.transferEncoding] != nil else {
            return try await next(request, context)
        }
        var request = request
        do {
            _ = try await request.collectBody(upTo: maxBytes)
        } catch is NIOTooManyBytesError {
            throw APIError.payloadTooLarge(limit: maxBytes)
        }
        return try await next(request, context)
    }
}
