import Crypto
import Foundation
import Postgres

/// A pending authorization request: created by GET /oauth/authorize once the client and
/// redirect URI are valid, finished by the owner's approve or deny. The browser holds its
/// `handle` in a cookie; the forms carry its `csrfToken`. Both are stored only hashed.
public struct AuthorizationRequest: Sendable {
    public let client: OAuthClient
    public let redirectURI: String
    public let scope: String
    public let state: String?
    public let codeChallenge: String?
    public let forceLogin: Bool
    /// Set once the owner has signed in for this request (or had a live session).
    public let ownerID: UUID?
    /// The hash of the browser session that signed in for this request: approve and deny
    /// must carry that session's cookie.
    public let sessionHash: [UInt8]?
    /// Made in the older guide's form (only redirect_uri, no client_id): the code it yields may
    /// be redeemed without redirect_uri.
    public let olderGuideForm: Bool

    /// True when `session` (the browser's session cookie) is the one this request was signed
    /// in with. Compared in constant time; false for a request nobody has signed in to.
    public func isBound(toSession session: String?) -> Bool {
        guard let sessionHash, let session else { return false }
        return SecretToken.constantTimeEquals(SecretToken.hash(session).bytes, sessionHash)
    }
}

public struct AuthorizationRequestStore: Sendable {
    public static let lifetimeSeconds = 10 * 60
    let database: PostgresConnectionPool

    public init(database: PostgresConnectionPool) {
        self.database = database
    }

    /// Stores a new request; returns the handle for the browser's cookie.
    public func create(
        client: OAuthClient, redirectURI: String, scope: String, state: String?, codeChallenge: String?,
        forceLogin: Bool, ownerID: UUID?, session: String?, olderGuideForm: Bool = false
    ) async throws -> String {
        let handle = SecretToken.generate(prefix: "")
        let csrf = Self.csrfToken(forHandle: handle)
        try await database.transaction { connection in
            // Expired requests are clutter; clear a few wherever new ones are written.
            try connection.query(
                """
                DELETE FROM oauth_authorization_requests WHERE handle_hash IN (
                    SELECT handle_hash FROM oauth_authorization_requests WHERE expires_at < now() LIMIT 100)
                """)
            try connection.query(
                """
                INSERT INTO oauth_authorization_requests
                    (handle_hash, csrf_hash, client_id, redirect_uri, scope, state, code_challenge, force_login, owner_id,
                     session_hash, expires_at, older_guide_form)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now() + make_interval(secs => $11), $12)
                """,
                [SecretToken.hash(handle), SecretToken.hash(csrf), client.id, redirectURI, scope, state, codeChallenge,
                 forceLogin, ownerID, ownerID == nil ? nil : session.map(SecretToken.hash), Self.lifetimeSeconds,
                 olderGuideForm])
        }
        return handle
    }

    /// The CSRF token of a request, derived from its cookie handle so every rendering of the
    /// forms can carry it without storing it: a page on another site can make the browser send
    /// the cookie but can neither read it nor this token.
    public static func csrfToken(forHandle handle: String) -> String {
        SecretToken.base64URL(SHA256.hash(data: Data(("lockcloud-csrf:" + handle).utf8)))
    }

    /// The live request for a cookie handle, with its CSRF hash; nil when unknown or expired.
    public func find(handle: String) async throws -> (request: AuthorizationRequest, csrfHash: [UInt8])? {
        guard let row = try await database.query(
            """
            SELECT r.redirect_uri, r.scope, r.state, r.code_challenge, r.force_login, r.owner_id, r.csrf_hash,
                   c.client_id, c.name, c.redirect_uris, r.session_hash, r.older_guide_form
            FROM oauth_authorization_requests r JOIN oauth_clients c USING (client_id)
            WHERE r.handle_hash = $1 AND r.expires_at > now()
            """, [SecretToken.hash(handle)]
        ).singleRow() else { return nil }
        let client = OAuthClient(
            id: try row.decode(String.self, at: 7), name: try row.decode(String.self, at: 8),
            redirectURIs: try row.decode(PostgresTextArray.self, at: 9).values)
        let request = AuthorizationRequest(
            client: client, redirectURI: try row.decode(String.self, at: 0), scope: try row.decode(String.self, at: 1),
            state: try row.decode(String?.self, at: 2), codeChallenge: try row.decode(String?.self, at: 3),
            forceLogin: try row.decode(Bool.self, at: 4), ownerID: try row.decode(UUID?.self, at: 5),
            sessionHash: try row.decode(PostgresBytes?.self, at: 10)?.bytes, olderGuideForm: try row.decode(Bool.self, at: 11))
        return (request, try row.decode(PostgresBytes.self, at: 6).bytes)
    }

    /// After a sign-in: the request now belongs to `ownerID` through `session`, under a new
    /// handle (returned for the cookie), so whoever knew the old handle, for example by
    /// planting it in the victim's browser, holds nothing. Nil when the request is gone.
    public func signedIn(handle: String, ownerID: UUID, session: String) async throws -> String? {
        let newHandle = SecretToken.generate(prefix: "")
        let updated = try await database.query(
            """
            UPDATE oauth_authorization_requests SET handle_hash = $2, csrf_hash = $3, owner_id = $4, session_hash = $5
            WHERE handle_hash = $1 AND expires_at > now()
            """,
            [SecretToken.hash(handle), SecretToken.hash(newHandle), SecretToken.hash(Self.csrfToken(forHandle: newHandle)),
             ownerID, SecretToken.hash(session)])
        return updated.affectedRows == 1 ? newHandle : nil
    }

    /// Ends the request (approved or denied): true only for the first caller, so a double
    /// submit cannot issue two codes.
    public func finish(handle: String) async throws -> Bool {
        try await database.query(
            "DELETE FROM oauth_authorization_requests WHERE handle_hash = $1 AND expires_at > now()",
            [SecretToken.hash(handle)]
        ).affectedRows == 1
    }
}

/// Browser sessions on the authorization pages, so an owner signs in once per browser.
public struct SessionStore: Sendable {
    public static let lifetimeSeconds = 12 * 3600
    let database: PostgresConnectionPool

    public init(database: PostgresConnectionPool) {
        self.database = database
    }

    public func create(ownerID: UUID) async throws -> String {
        let session = SecretToken.generate(prefix: "")
        try await database.query(
            "INSERT INTO oauth_sessions (session_hash, owner_id, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3))",
            [SecretToken.hash(session), ownerID, Self.lifetimeSeconds])
        return session
    }

    public func owner(session: String) async throws -> UUID? {
        try await database.query(
            "SELECT owner_id FROM oauth_sessions WHERE session_hash = $1 AND expires_at > now()",
            [SecretToken.hash(session)]
        ).singleRow().map { try $0.decode(UUID.self, at: 0) }
    }
}
