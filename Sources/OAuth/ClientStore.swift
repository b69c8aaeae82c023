import Crypto
import Foundation
import Postgres

/// An OAuth client registered by the operator (Seam is one).
public struct OAuthClient: Sendable, Equatable {
    public let id: String
    public let name: String
    public let redirectURIs: [String]
}

public enum ClientError: Error, Equatable, CustomStringConvertible {
    case invalidName
    case invalidClientID
    case invalidRedirectURI(String)
    case clientIDTaken

    public var description: String {
        switch self {
        case .invalidName: return "the client name must be 1 to 200 characters"
        case .invalidClientID: return "a client id is 1 to 64 of A-Z a-z 0-9 . _ -"
        case .invalidRedirectURI(let uri):
            return "redirect URI \(uri) must be an absolute https URL (http only for localhost) without a fragment"
        case .clientIDTaken: return "a client with this id already exists"
        }
    }
}

public struct ClientStore: Sendable {
    let database: PostgresConnectionPool

    public init(database: PostgresConnectionPool) {
        self.database = database
    }

    /// Registers a client and returns it with its secret, which is shown once and stored only
    /// as a salted SHA-256. `clientID` and `secret` are generated unless given (demo data).
    public func create(
        name: String, redirectURIs: [String], clientID: String? = nil, secret: String? = nil
    ) async throws -> (client: OAuthClient, secret: String) {
        guard (1...200).contains(name.count) else { throw ClientError.invalidName }
        let id = clientID ?? "lc_" + SecretToken.base64URL(SecretToken.randomBytes(12))
        guard (1...64).contains(id.count),
            id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) })
        else { throw ClientError.invalidClientID }
        guard !redirectURIs.isEmpty else { throw ClientError.invalidRedirectURI("(none)") }
        for uri in redirectURIs where !Self.isAcceptableRedirect(uri) {
            throw ClientError.invalidRedirectURI(uri)
        }
        let secret = secret ?? SecretToken.generate(prefix: "lcs_")
        let salt = SecretToken.randomBytes(16)
        do {
            try await database.query(
                """
                INSERT INTO oauth_clients (client_id, name, secret_salt, secret_hash, redirect_uris)
                VALUES ($1, $2, $3, $4, $5)
                """,
                [id, name, PostgresBytes(salt), Self.secretHash(secret, salt: salt), PostgresTextArray(redirectURIs)])
        } catch let error as PostgresError where error.sqlState == SQLState.uniqueViolation {
            throw ClientError.clientIDTaken
        }
        return (OAuthClient(id: id, name: name, redirectURIs: redirectURIs), secret)
    }

    public func list() async throws -> [OAuthClient] {
        try await database.query("SELECT client_id, name, redirect_uris FROM oauth_clients ORDER BY created_at, client_id")
            .rows.map(Self.client)
    }

    public func find(id: String) async throws -> OAuthClient? {
        try await database.query("SELECT client_id, name, redirect_uris FROM oauth_clients WHERE client_id = $1", [id])
            .singleRow().map(Self.client)
    }

    /// The clients that registered exactly `redirectURI` (the older guide's authorization
    /// request names no client). At most two are read: the caller only needs to know whether
    /// exactly one did.
    public func find(redirectURI: String) async throws -> [OAuthClient] {
        try await database.query(
            "SELECT client_id, name, redirect_uris FROM oauth_clients WHERE redirect_uris @> ARRAY[$1::text] LIMIT 2",
            [redirectURI]
        ).rows.map(Self.client).filter { $0.redirectURIs.contains(redirectURI) }
    }

    /// Deleting a client removes its grants and tokens with it (foreign keys cascade).
    public func delete(id: String) async throws -> Bool {
        try await database.query("DELETE FROM oauth_clients WHERE client_id = $1", [id]).affectedRows == 1
    }

    /// The client when id and secret match, else nil; the comparison is constant-time.
    public func authenticate(id: String, secret: String) async throws -> OAuthClient? {
        try await authenticateWithPosition(id: id, secret: secret)?.client
    }

    /// `authenticate(id:secret:)` and the primary's WAL position from the same statement, for
    /// a read that may go to a replica (`ReadReplica`). Nil position: the database is in recovery.
    public func authenticateWithPosition(id: String, secret: String) async throws -> (client: OAuthClient, position: WALPosition?)? {
        guard let row = try await database.query(
            "SELECT client_id, name, redirect_uris, secret_salt, secret_hash," + WALPosition.primaryColumn
                + "FROM oauth_clients WHERE client_id = $1", [id]
        ).singleRow() else { return nil }
        let salt = try row.decode(PostgresBytes.self, at: 3).bytes
        let stored = try row.decode(PostgresBytes.self, at: 4).bytes
        guard SecretToken.constantTimeEquals(Self.secretHash(secret, salt: salt).bytes, stored) else { return nil }
        return (try Self.client(row), try row.decode(Int64?.self, at: 5).map(WALPosition.init(bytes:)))
    }

    static func secretHash(_ secret: String, salt: [UInt8]) -> PostgresBytes {
        PostgresBytes(Array(SHA256.hash(data: Data(salt + Array(secret.utf8)))))
    }

    static func client(_ row: PostgresRow) throws -> OAuthClient {
        OAuthClient(
            id: try row.decode(String.self, at: 0), name: try row.decode(String.self, at: 1),
            redirectURIs: try row.decode(PostgresTextArray.self, at: 2).values)
    }

    /// https anywhere; http only on loopback (development callbacks such as localhost:3020).
    static func isAcceptableRedirect(_ uri: String) -> Bool {
        guard uri.count <= 2000, let components = URLComponents(string: uri), components.fragment == nil,
            let host = components.host, !host.isEmpty, components.user == nil, components.password == nil
        else { return false }
        switch components.scheme?.lowercased() {
        case "https": return true
        case "http": return host == "localhost" || host == "127.0.0.1" || host == "[::1]" || host == "::1"
        default: return false
        }
    }
}
