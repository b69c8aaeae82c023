import Foundation
import HTTPTypes
import OAuth
import OpenAPIRuntime

/// The authenticated caller of a resource operation, set by `BearerAuthMiddleware` for the
/// duration of the handler. Handlers read it; nothing re-parses the token.
enum RequestAuthentication {
    @TaskLocal static var grant: AccessGrant?
    /// For operations that check the token in their own query (see `selfAuthenticating`).
    @TaskLocal static var bearerToken: String?

    /// The grant of the current request; a handler reached without one is a wiring bug.
    static func required() throws -> AccessGrant {
        guard let grant else { throw APIError.internalError() }
        return grant
    }
}

/// RFC 6750 bearer authentication for the generated operations. Reads require `locks.read`,
/// changes `locks.write`; operations not listed as public are protected (fail closed).
struct BearerAuthMiddleware: ServerMiddleware {
    static let publicOperations: Set<String> = ["getHealth", "getMetrics"]
    /// Operations that authenticate the token in the same statement that reads their data (one
    /// round trip instead of two); they must refuse exactly as this middleware does.
    static let selfAuthenticating: Set<String> = ["getLock"]
    let tokens: TokenService

    static let invalidTokenMessage = "The access token is invalid, expired or revoked."
    static let invalidTokenChallenge = "error=\"invalid_token\""

    static func invalidToken() -> APIError {
        APIError(.unauthorized, "INVALID_TOKEN", invalidTokenMessage,
                 headers: [.wwwAuthenticate: "Bearer realm=\"LockCloud\", \(invalidTokenChallenge)"])
    }

    static func insufficientScope(_ needed: Scope) -> APIError {
        APIError(.forbidden, "INSUFFICIENT_SCOPE", "This operation needs the \(needed.rawValue) scope.",
                 headers: [.wwwAuthenticate: "Bearer realm=\"LockCloud\", error=\"insufficient_scope\", scope=\"\(needed.rawValue)\""])
    }

    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        if Self.publicOperations.contains(operationID) {
            return try await next(request, body, metadata)
        }
        guard let header = request.headerFields[.authorization], header.count > 7,
            header.prefix(7).lowercased() == "bearer "
        else { return Self.refusal(.unauthorized, "INVALID_TOKEN", "A bearer access token is required.", challenge: "error=\"invalid_token\"") }
        let token = header.dropFirst(7).trimmingCharacters(in: .whitespaces)
        if Self.selfAuthenticating.contains(operationID) {
            return try await RequestAuthentication.$bearerToken.withValue(token) {
                try await next(request, body, metadata)
            }
        }
        guard let grant = try await tokens.authenticate(accessToken: token) else {
            return Self.refusal(.unauthorized, "INVALID_TOKEN", Self.invalidTokenMessage, challenge: Self.invalidTokenChallenge)
        }
        let needed: Scope = (request.method == .get || request.method == .head) ? .locksRead : .locksWrite
        guard grant.scopes.contains(needed) else {
            return Self.refusal(.forbidden, "INSUFFICIENT_SCOPE", "This operation needs the \(needed.rawValue) scope.",
                                challenge: "error=\"insufficient_scope\", scope=\"\(needed.rawValue)\"")
        }
        return try await RequestAuthentication.$grant.withValue(grant) {
            try await next(request, body, metadata)
        }
    }

    static func refusal(_ status: HTTPResponse.Status, _ code: String, _ message: String, challenge: String) -> (HTTPResponse, HTTPBody?) {
        let body = (try? JSONEncoder.compact.encode(["error_code": code, "message": message])) ?? Data()
        var fields: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        fields[.wwwAuthenticate] = "Bearer realm=\"LockCloud\", \(challenge)"
        return (HTTPResponse(status: status, headerFields: fields), HTTPBody(body))
    }
}
