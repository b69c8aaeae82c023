import Foundation
import Postgres

/// `GET /events`: the envelopes a caller may see, oldest first, for catching up and debugging.
public struct EventFeed: Sendable {
    let database: PostgresConnectionPool

    public init(database: PostgresConnectionPool) {
        self.database = database
    }

    public enum Audience: Sendable {
        /// An OAuth client: events of every owner with a live grant to it.
        case client(String)
        /// One owner (a bearer token).
        case owner(UUID)
    }

    public struct Page: Sendable {
        /// Envelope JSON texts, exactly as webhooks send them.
        public let envelopes: [String]
        public let nextCursor: String?
    }

    public func page(for audience: Audience, limit: Int, cursor: String?) async throws -> Page {
        guard (1...1000).contains(limit) else { throw WebhookError.invalidLimit }
        var after: Int64 = 0
        if let cursor {
            guard let data = Data(base64Encoded: cursor), let text = String(data: data, encoding: .utf8),
                text.hasPrefix("e:"), let seq = Int64(text.dropFirst(2)), seq >= 0
            else { throw WebhookError.invalidCursor }
            after = seq
        }
        let rows: [PostgresRow]
        switch audience {
        case .client(let clientID):
            rows = try await database.query(
                """
                SELECT e.seq, event_envelope(e)::text FROM events e
                WHERE e.seq > $2 AND e.owner_id IN (
                    SELECT owner_id FROM oauth_grants WHERE client_id = $1 AND revoked_at IS NULL)
                ORDER BY e.seq LIMIT $3
                """, [clientID, after, limit + 1]
            ).rows
        case .owner(let ownerID):
            rows = try await database.query(
                "SELECT e.seq, event_envelope(e)::text FROM events e WHERE e.owner_id = $1 AND e.seq > $2 ORDER BY e.seq LIMIT $3",
                [ownerID, after, limit + 1]
            ).rows
        }
        let page = rows.prefix(limit)
        let next = rows.count > limit ? try page.last.map { Data("e:\(try $0.decode(Int64.self, at: 0))".utf8).base64EncodedString() } : nil
        return Page(envelopes: try page.map { try $0.decode(String.self, at: 1) }, nextCursor: next)
    }
}
