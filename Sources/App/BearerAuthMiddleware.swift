import Foundation
import HTTPTypes
import OAuth
import OpenAPIRuntime
import Postgres

/// The authenticated caller of a resource operation, set by `BearerAuthMiddleware` for the
/// duration of the handler. Handlers read it; nothing re-parses the token.
enum RequestAuthentication {
    @TaskLocal static var grant: AccessGrant?

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
    let tokens: TokenService

    static let invalidTokenChallenge = "Bearer realm=\"LockCloud\", error=\"invalid_token\""

    /// The token of an `Authorization: Bearer ...` header (the scheme in any case); nil when
    /// there is none. Every bearer header is read here: owners' tokens and devices' credentials.
    static func bearerToken(in header: String?) -> String? {
        // Over the UTF-8 bytes: this runs for every API request and every lock's poll, and
        // Foundation's trimming bridged each header through NSString.
        guard let header else { return nil }
        let bytes = Array(header.utf8)
        guard bytes.count > 7, zip(bytes[..<7], "bearer ".utf8).allSatisfy({ Self.asciiLowercased($0) == $1 }) else { return nil }
        // HTTP's optional whitespace (space, tab) around the token.
        let isSpace = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        var token = bytes[7...]
        while let first = token.first, isSpace(first) { token = token.dropFirst() }
        while let last = token.last, isSpace(last) { token = token.dropLast() }
        return String(decoding: token, as: UTF8.self)
    }

    private static func asciiLowercased(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 : byte
    }

    static func missingToken() -> APIError {
        APIError(.unauthorized, "INVALID_TOKEN", "A bearer access token is required.",
                 headers: [.wwwAuthenticate: invalidTokenChallenge])
    }

    static func invalidToken() -> APIError {
        APIError(.unauthorized, "INVALID_TOKEN", "The access token is invalid, expired or revoked.",
                 headers: [.wwwAuthenticate: invalidTokenChallenge])
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
        let needed: Scope = (request.method == .get || request.method == .head) ? .locksRead : .locksWrite
        let grant: AccessGrant
        do {
            grant = try await Self.grant(authorization: request.headerFields[.authorization], needed: needed, tokens: tokens)
        } catch let refusal as APIError {
            return Self.openAPIResponse(refusal)
        }
        return try await RequestAuthentication.$grant.withValue(grant) {
            try await next(request, body, metadata)
        }
    }

    /// The grant of the `Authorization` header's bearer token if it may make a request that
    /// needs `needed`; otherwise throws the refusal, in this order: no token or an invalid,
    /// expired or revoked one 401, a missing scope 403. Every protected operation passes here,
    /// generated (`intercept`) and hand-written (`AuthenticatedRead`).
    static func grant(authorization: String?, needed: Scope, tokens: TokenService) async throws -> AccessGrant {
        try await positionedGrant(authorization: authorization, needed: needed, tokens: tokens).grant
    }

    /// `grant(authorization:needed:tokens:)` with the primary's WAL position from the same
    /// statement, for a read that may go to the replica (`ReplicaRouted`).
    static func positionedGrant(
        authorization: String?, needed: Scope, tokens: TokenService
    ) async throws -> (grant: AccessGrant, position: WALPosition?) {
        guard let token = bearerToken(in: authorization) else { throw missingToken() }
        guard let checked = try await tokens.authenticateWithPosition(accessToken: token) else { throw invalidToken() }
        guard checked.grant.scopes.contains(needed) else { throw insufficientScope(needed) }
        return checked
    }

    /// A refusal as the generated routes' middleware answers it.
    static func openAPIResponse(_ error: APIError) -> (HTTPResponse, HTTPBody?) {
        (HTTPResponse(status: error.status, headerFields: error.responseHeaders), HTTPBody(error.jsonBody))
    }
}
