import Foundation
import Postgres

/// `GET /events`: the envelopes a caller may see, oldest first, for catching up and debugging.
/// A client sees an owner's events only from the start of its live grant from that owner on
/// (a revoked grant shows nothing; one given again starts afresh), with other clients'
/// identifiers nulled: the same envelopes, byte for byte, that its webhooks receive.
public struct EventFeed: Sendable {
    let database: PostgresConnectionPool

    public init(database: PostgresConnectionPool) {
        self.database = database
    }

    public enum Audience: Sendable {
        /// An OAuth client authenticated as itself: every owner with a live grant to it.
        case client(String)
        /// An access token: the one owner whose grant it was issued under, seen by the client
        /// that holds it. Every token belongs to a client's grant (owners hold none of their
        /// own), so a token sees no more than its client does.
        case grant(ownerID: UUID, clientID: String)
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
        let (clientID, ownerID): (String, UUID?) = switch audience {
        case .client(let clientID): (clientID, nil)
        case .grant(let ownerID, let clientID): (clientID, ownerID)
        }
        // Per owner, from the oldest live grant's start (event_visible_to, written as a join
        // so each owner's events are read by the (owner_id, seq) index).
        let rows = try await database.query(
            """
            SELECT e.seq, event_envelope_for(e, $1)::text
            FROM (SELECT owner_id, min(events_after_seq) AS after_seq FROM oauth_grants
                  WHERE client_id = $1 AND revoked_at IS NULL AND ($4::uuid IS NULL OR owner_id = $4)
                  GROUP BY owner_id) g
            JOIN events e ON e.owner_id = g.owner_id AND e.seq > g.after_seq
            WHERE e.seq > $2
            ORDER BY e.seq LIMIT $3
            """, [clientID, after, limit + 1, ownerID]
        ).rows
        let page = rows.prefix(limit)
        let next = rows.count > limit ? try page.last.map { Data("e:\(try $0.decode(Int64.self, at: 0))".utf8).base64EncodedString() } : nil
        return Page(envelopes: try page.map { try $0.decode(String.self, at: 1) }, nextCursor: next)
    }
}
