import Foundation
import Postgres

public struct TokenSettings: Sendable {
    /// Seconds an access token lives (`expires_in`).
    public var accessTokenLifetime: Int
    /// Seconds a refresh token may go unused before it expires.
    public var refreshTokenIdleLifetime: Int
    /// Seconds an authorization code may wait for its exchange (at most 600, RFC 6749 §4.1.2).
    public var codeLifetime: Int

    public init(accessTokenLifetime: Int = 3600, refreshTokenIdleLifetime: Int = 90 * 86_400, codeLifetime: Int = 600) {
        self.accessTokenLifetime = accessTokenLifetime
        self.refreshTokenIdleLifetime = refreshTokenIdleLifetime
        self.codeLifetime = min(codeLifetime, 600)
    }
}

public struct IssuedTokens: Sendable, Equatable {
    public let accessToken: String
    public let refreshToken: String
    public let expiresIn: Int
    public let ownerID: UUID
    public let scope: String
}

/// What a valid access token stands for; handlers receive this, never the raw token.
public struct AccessGrant: Sendable, Equatable {
    public let ownerID: UUID
    public let clientID: String
    public let scopes: Set<Scope>
}

/// RFC 6749 §5.2 errors of the token endpoint.
public enum TokenError: Error, Equatable {
    case invalidRequest(String)
    case invalidGrant(String)
    case invalidScope(String)
}

/// Authorization codes, grants, access and refresh tokens.
public struct TokenService: Sendable {
    let database: PostgresConnectionPool
    public let settings: TokenSettings

    public init(database: PostgresConnectionPool, settings: TokenSettings) {
        self.database = database
        self.settings = settings
    }

    public func issueCode(for request: AuthorizationRequest, ownerID: UUID) async throws -> String {
        let code = SecretToken.generate(prefix: "lcc_")
        try await database.query(
            """
            INSERT INTO oauth_authorization_codes
                (code_hash, client_id, owner_id, redirect_uri, scope, code_challenge, expires_at, older_guide_form)
            VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7), $8)
            """,
            [SecretToken.hash(code), request.client.id, ownerID, request.redirectURI, request.scope, request.codeChallenge,
             settings.codeLifetime, request.olderGuideForm])
        return code
    }

    /// Exchanges a code for tokens. The code is consumed by one UPDATE, so of two parallel
    /// exchanges exactly one wins; a second use revokes every token issued from the code.
    public func exchange(code: String, client: OAuthClient, redirectURI: String?, codeVerifier: String?) async throws -> IssuedTokens {
        enum Outcome: Sendable { case issued(IssuedTokens), refused(TokenError) }
        let codeHash = SecretToken.hash(code)
        let accessToken = SecretToken.generate(prefix: "lca_")
        let refreshToken = SecretToken.generate(prefix: "lcr_")
        let settings = self.settings
        let outcome = try await database.transaction { connection -> Outcome in
            guard let row = try connection.query(
                """
                UPDATE oauth_authorization_codes SET consumed_at = now()
                WHERE code_hash = $1 AND consumed_at IS NULL
                RETURNING client_id, owner_id, redirect_uri, scope, code_challenge, expires_at > now(), older_guide_form
                """, [codeHash]
            ).singleRow() else {
                // Unknown, or used before: a replay revokes what the first use obtained.
                try connection.query(
                    "UPDATE oauth_grants SET revoked_at = now() WHERE code_hash = $1 AND revoked_at IS NULL", [codeHash])
                return .refused(.invalidGrant("The authorization code is invalid or was already used."))
            }
            guard try row.decode(String.self, at: 0) == client.id else {
                return .refused(.invalidGrant("The authorization code was issued to another client."))
            }
            guard try row.decode(Bool.self, at: 5) else {
                return .refused(.invalidGrant("The authorization code has expired."))
            }
            // RFC 6749 §4.1.3: redirect_uri must be sent again, identical, when the authorization
            // request carried it. The older guide's request (only redirect_uri) is redeemed
            // without it; if sent anyway it must still match.
            if let redirectURI {
                guard try redirectURI == row.decode(String.self, at: 2) else {
                    return .refused(.invalidGrant("redirect_uri does not match the authorization request."))
                }
            } else if try !row.decode(Bool.self, at: 6) {
                return .refused(.invalidGrant("redirect_uri is required: the authorization request carried it."))
            }
            if let challenge = try row.decode(String?.self, at: 4) {
                guard let codeVerifier, Self.isValidVerifier(codeVerifier),
                    SecretToken.constantTimeEquals(
                        Array(SecretToken.pkceChallenge(verifier: codeVerifier).utf8), Array(challenge.utf8))
                else { return .refused(.invalidGrant("code_verifier does not match the code challenge.")) }
            } else if codeVerifier != nil {
                return .refused(.invalidGrant("code_verifier given, but the authorization request had no code challenge."))
            }
            let ownerID = try row.decode(UUID.self, at: 1)
            let scope = try row.decode(String.self, at: 3)
            let grantID = try connection.query(
                """
                INSERT INTO oauth_grants (client_id, owner_id, scope, code_hash, refresh_token_hash)
                VALUES ($1, $2, $3, $4, $5) RETURNING grant_id
                """, [client.id, ownerID, scope, codeHash, SecretToken.hash(refreshToken)]
            ).firstRow().decode(UUID.self, at: 0)
            try Self.insertAccessToken(accessToken, grantID: grantID, scope: scope, lifetime: settings.accessTokenLifetime, on: connection)
            return .issued(IssuedTokens(
                accessToken: accessToken, refreshToken: refreshToken, expiresIn: settings.accessTokenLifetime,
                ownerID: ownerID, scope: scope))
        }
        switch outcome {
        case .issued(let tokens): return tokens
        case .refused(let error): throw error
        }
    }

    /// A new access token for a live refresh token. The refresh token is not rotated and
    /// earlier access tokens stay valid: Seam refreshes from several workflows at once.
    public func refresh(refreshToken: String, client: OAuthClient, requestedScope: String?) async throws -> IssuedTokens {
        let accessToken = SecretToken.generate(prefix: "lca_")
        let settings = self.settings
        let refreshHash = SecretToken.hash(refreshToken)
        let result = try await database.transaction { connection -> Result<IssuedTokens, TokenError> in
            guard let row = try connection.query(
                """
                UPDATE oauth_grants SET last_used_at = now()
                WHERE refresh_token_hash = $1 AND client_id = $2 AND revoked_at IS NULL
                  AND last_used_at > now() - make_interval(secs => $3)
                RETURNING grant_id, owner_id, scope
                """, [refreshHash, client.id, settings.refreshTokenIdleLifetime]
            ).singleRow() else {
                return .failure(.invalidGrant("The refresh token is invalid, expired or revoked."))
            }
            let granted = Scope.parse(try row.decode(String.self, at: 2)) ?? []
            var scope = try row.decode(String.self, at: 2)
            if let requestedScope {
                guard let requested = Scope.parse(requestedScope), requested.isSubset(of: granted) else {
                    return .failure(.invalidScope("The requested scope exceeds the scope granted."))
                }
                scope = Scope.format(requested)
            }
            try Self.insertAccessToken(
                accessToken, grantID: try row.decode(UUID.self, at: 0), scope: scope, lifetime: settings.accessTokenLifetime,
                on: connection)
            return .success(IssuedTokens(
                accessToken: accessToken, refreshToken: refreshToken, expiresIn: settings.accessTokenLifetime,
                ownerID: try row.decode(UUID.self, at: 1), scope: scope))
        }
        return try result.get()
    }

    /// RFC 7009: revokes a refresh token (with its grant and every access token under it) or
    /// one access token. Unknown tokens and other clients' tokens change nothing, silently.
    public func revoke(token: String, client: OAuthClient) async throws {
        let hash = SecretToken.hash(token)
        try await database.transaction { connection in
            try connection.query(
                "UPDATE oauth_grants SET revoked_at = now() WHERE refresh_token_hash = $1 AND client_id = $2 AND revoked_at IS NULL",
                [hash, client.id])
            try connection.query(
                """
                UPDATE oauth_access_tokens t SET revoked_at = now()
                FROM oauth_grants g
                WHERE t.token_hash = $1 AND g.grant_id = t.grant_id AND g.client_id = $2 AND t.revoked_at IS NULL
                """, [hash, client.id])
        }
    }

    /// The grant behind a live access token, or nil.
    public func authenticate(accessToken: String) async throws -> AccessGrant? {
        try await authenticateWithPosition(accessToken: accessToken)?.grant
    }

    /// `authenticate(accessToken:)` and, in the same statement, the primary's WAL position: a
    /// read replica that has replayed it shows everything committed before this request
    /// (`ReadReplica`). Nil position: the database is itself in recovery.
    public func authenticateWithPosition(accessToken: String) async throws -> (grant: AccessGrant, position: WALPosition?)? {
        guard let row = try await database.query(
            "SELECT g.owner_id, g.client_id, t.scope," + WALPosition.primaryColumn + """
            FROM oauth_access_tokens t JOIN oauth_grants g USING (grant_id)
            WHERE t.token_hash = $1 AND t.expires_at > now() AND t.revoked_at IS NULL AND g.revoked_at IS NULL
            """, [SecretToken.hash(accessToken)]
        ).singleRow() else { return nil }
        let grant = AccessGrant(
            ownerID: try row.decode(UUID.self, at: 0), clientID: try row.decode(String.self, at: 1),
            scopes: Scope.parse(try row.decode(String.self, at: 2)) ?? [])
        return (grant, try row.decode(Int64?.self, at: 3).map(WALPosition.init(bytes:)))
    }

    private static func insertAccessToken(
        _ token: String, grantID: UUID, scope: String, lifetime: Int, on connection: PostgresConnection
    ) throws {
        try connection.query(
            """
            INSERT INTO oauth_access_tokens (token_hash, grant_id, scope, expires_at)
            VALUES ($1, $2, $3, now() + make_interval(secs => $4))
            """, [SecretToken.hash(token), grantID, scope, lifetime])
    }

    /// RFC 7636 §4.1: 43 to 128 characters of [A-Z a-z 0-9 - . _ ~].
    static func isValidVerifier(_ verifier: String) -> Bool {
        (43...128).contains(verifier.count)
            && verifier.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-._~".contains($0)) }
    }
}
