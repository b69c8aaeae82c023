import HTTPTypes
import Foundation
import Hummingbird
import NIOCore
import OAuth

/// `POST /oauth/token`, `POST /oauth/revoke` and the RFC 8414 metadata document.
struct OAuthTokenEndpoints: Sendable {
    let services: OAuthServices

    /// An RFC 6749 §5.2 error response.
    static func oauthError(_ status: HTTPResponse.Status, _ error: String, _ description: String, headers extra: HTTPFields = [:]) -> Response {
        var headers: HTTPFields = [.contentType: "application/json", .cacheControl: "no-store", HTTPField.Name("Pragma")!: "no-cache"]
        for field in extra { headers.append(field) }
        let body = (try? JSONSerialization.data(
            withJSONObject: ["error": error, "error_description": description], options: [.sortedKeys])) ?? Data()
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    static func invalidClient() -> Response {
        oauthError(.unauthorized, "invalid_client", "Client authentication failed.",
                   headers: [.wwwAuthenticate: "Basic realm=\"LockCloud\", charset=\"UTF-8\""])
    }

    static func json(_ object: [String: Any]) -> Response {
        let body = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return Response(
            status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store", HTTPField.Name("Pragma")!: "no-cache"],
            body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    func token(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let parameters: FormParameters
        switch try await FormParameters.read(&request, allowJSON: true, maxBytes: services.maxBodyBytes) {
        case .parameters(let read): parameters = read
        case .malformedJSON: return Self.oauthError(.badRequest, "invalid_request", "The body is not a JSON object.")
        case .malformedForm(let why): return Self.oauthError(.badRequest, "invalid_request", "The form body is malformed: \(why).")
        case .unsupportedMediaType:
            return Self.oauthError(.unsupportedMediaType, "invalid_request",
                                   "Send application/x-www-form-urlencoded (or application/json).")
        }
        if let name = parameters.repeated.first {
            return Self.oauthError(.badRequest, "invalid_request", "Parameter \(name) is repeated.")
        }
        let client: OAuthClient
        switch try await authenticateClient(request, parameters) {
        case .success(let authenticated): client = authenticated
        case .failure(let error): return error.response
        }
        do {
            let tokens: IssuedTokens
            // The older guide's JSON request sends no grant_type: it means authorization_code.
            // A form (the RFC's encoding) must still name it.
            switch parameters["grant_type"] ?? (parameters.isJSON ? "authorization_code" : nil) {
            case "authorization_code":
                guard let code = parameters["code"], !code.isEmpty else {
                    return Self.oauthError(.badRequest, "invalid_request", "code is required.")
                }
                tokens = try await services.tokens.exchange(
                    code: code, client: client, redirectURI: parameters["redirect_uri"], codeVerifier: parameters["code_verifier"])
            case "refresh_token":
                guard let refreshToken = parameters["refresh_token"], !refreshToken.isEmpty else {
                    return Self.oauthError(.badRequest, "invalid_request", "refresh_token is required.")
                }
                tokens = try await services.tokens.refresh(
                    refreshToken: refreshToken, client: client, requestedScope: parameters["scope"])
            case nil, "":
                return Self.oauthError(.badRequest, "invalid_request", "grant_type is required.")
            case let other?:
                return Self.oauthError(.badRequest, "unsupported_grant_type", "grant_type \(other.prefix(40)) is not supported.")
            }
            return Self.json([
                "access_token": tokens.accessToken, "token_type": "Bearer", "expires_in": tokens.expiresIn,
                "refresh_token": tokens.refreshToken, "user_id": tokens.ownerID.uuidString.lowercased(), "scope": tokens.scope,
            ])
        } catch let error as TokenError {
            switch error {
            case .invalidGrant(let message): return Self.oauthError(.badRequest, "invalid_grant", message)
            case .invalidScope(let message): return Self.oauthError(.badRequest, "invalid_scope", message)
            case .invalidRequest(let message): return Self.oauthError(.badRequest, "invalid_request", message)
            }
        }
    }

    /// RFC 7009: 200 whether or not the token was known; the client must authenticate.
    func revoke(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        guard case .parameters(let parameters) = try await FormParameters.read(&request, allowJSON: true, maxBytes: services.maxBodyBytes) else {
            return Self.oauthError(.badRequest, "invalid_request", "Send application/x-www-form-urlencoded.")
        }
        let client: OAuthClient
        switch try await authenticateClient(request, parameters) {
        case .success(let authenticated): client = authenticated
        case .failure(let error): return error.response
        }
        guard let token = parameters["token"], !token.isEmpty else {
            return Self.oauthError(.badRequest, "invalid_request", "token is required.")
        }
        try await services.tokens.revoke(token: token, client: client)
        return Response(status: .ok, headers: [.cacheControl: "no-store"], body: .init())
    }

    func metadata(_ request: Request, context: AppRequestContext) async throws -> Response {
        let issuer = services.issuer
        return Self.json([
            "issuer": issuer,
            "authorization_endpoint": issuer + "/oauth/authorize",
            "token_endpoint": issuer + "/oauth/token",
            "revocation_endpoint": issuer + "/oauth/revoke",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": Scope.allCases.map(\.rawValue),
        ])
    }

    /// HTTP Basic (RFC 6749 §2.3.1, form-encoded id and secret) or `client_id` and
    /// `client_secret` in the body; using both at once is refused.
    private func authenticateClient(_ request: Request, _ parameters: FormParameters) async throws -> Result<OAuthClient, ResponseError> {
        var id = parameters["client_id"]
        var secret = parameters["client_secret"]
        if let header = request.headers[.authorization] {
            guard let basic = BasicCredentials.parse(header) else { return .failure(ResponseError(Self.invalidClient())) }
            guard secret == nil else {
                return .failure(ResponseError(Self.oauthError(.badRequest, "invalid_request", "Use one client authentication method.")))
            }
            if let id, id != basic.id {
                return .failure(ResponseError(Self.oauthError(.badRequest, "invalid_request", "client_id does not match the credentials.")))
            }
            id = basic.id
            secret = basic.secret
        }
        guard let id, let secret, !id.isEmpty, !secret.isEmpty,
            let client = try await services.clients.authenticate(id: id, secret: secret)
        else { return .failure(ResponseError(Self.invalidClient())) }
        return .success(client)
    }

}

/// A ready response carried through a `Result`.
struct ResponseError: Error {
    let response: Response
    init(_ response: Response) { self.response = response }
}
