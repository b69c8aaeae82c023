import Foundation
import Postgres

/// A client the owner has allowed, as the account pages list it: every live grant of that
/// client from that owner together (an owner who approved twice sees one entry).
public struct ConnectedApp: Sendable, Equatable {
    public let clientID: String
    public let name: String
    public let scopes: [String]
    public let grantedAt: Date
    /// The last time the client obtained an access token (the code exchange or a refresh).
    /// Using a token is not recorded: that would be a write on every API read.
    public let lastUsedAt: Date
}

public struct ConnectedAppStore: Sendable {
    let database: PostgresConnectionPool

    public init(database: PostgresConnectionPool) {
        self.database = database
    }

    public func list(ownerID: UUID) async throws -> [ConnectedApp] {
        try await database.query(
            """
            SELECT c.client_id, c.name, string_agg(g.scope, ' '), min(g.created_at), max(g.last_used_at)
            FROM oauth_grants g JOIN oauth_clients c USING (client_id)
            WHERE g.owner_id = $1 AND g.revoked_at IS NULL
            GROUP BY c.client_id, c.name ORDER BY c.name, c.client_id
            """, [ownerID]
        ).rows.map { row in
            let scopes = Set(try row.decode(String.self, at: 2).split(separator: " ").map(String.init))
            return ConnectedApp(
                clientID: try row.decode(String.self, at: 0), name: try row.decode(String.self, at: 1),
                scopes: scopes.sorted(), grantedAt: try row.decode(Date.self, at: 3), lastUsedAt: try row.decode(Date.self, at: 4))
        }
    }

    /// Ends every live grant of `clientID` from this owner and every token under them, at once:
    /// what RFC 7009 revocation of each grant's refresh token does (`TokenService.revoke`).
    /// The client's webhooks stop with it: a delivery needs a live grant (docs/webhooks.md).
    /// False when the owner has no live grant to that client (or it does not exist).
    public func revoke(ownerID: UUID, clientID: String) async throws -> Bool {
        try await database.transaction { connection in
            let grants = try connection.query(
                """
                UPDATE oauth_grants SET revoked_at = now()
                WHERE owner_id = $1 AND client_id = $2 AND revoked_at IS NULL RETURNING grant_id
                """, [ownerID, clientID]
            ).rows.map { try $0.decode(UUID.self, at: 0) }
            guard !grants.isEmpty else { return false }
            try connection.query(
                "UPDATE oauth_access_tokens SET revoked_at = now() WHERE grant_id = ANY ($1::uuid[]) AND revoked_at IS NULL",
                [PostgresTextArray(grants.map { $0.uuidString })])
            return true
        }
    }
}
