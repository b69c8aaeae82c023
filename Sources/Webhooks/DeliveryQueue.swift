import Foundation
import Postgres

/// The outbox of webhook deliveries (filled by the `events_fan_out` trigger). Claims are single
/// statements that lock each webhook's row with `FOR UPDATE SKIP LOCKED`, so any number of
/// instances share the work and never claim the same delivery together; each webhook has at
/// most one delivery in flight, its oldest, which keeps its events in order.
public struct DeliveryQueue: Sendable {
    let database: PostgresConnectionPool

    public init(database: PostgresConnectionPool) {
        self.database = database
    }

    /// A delivery this instance holds until `leaseSeconds` after the claim.
    public struct Claim: Sendable {
        public let deliveryID: UUID
        public let webhookID: UUID
        /// This attempt's number (1 for the first); results are recorded against it.
        public let attempt: Int
        public let url: String
        public let secretSealed: [UInt8]
        public let previousSecretSealed: [UInt8]?
        public let eventID: UUID
        /// The envelope as the webhook's client may see it (event_envelope_for), rendered by the
        /// database: the same bytes on every attempt.
        public let payload: String
        public let occurredAt: Date
    }

    /// One round's claims, and how many due deliveries were dropped instead of claimed.
    public struct Round: Sendable {
        public let claims: [Claim]
        public let dropped: Int
    }

    /// Claims the due head of up to `limit` webhooks' queues (webhooks another instance is
    /// claiming right now are skipped, not waited for): pending and due, or claimed
    /// earlier by an instance whose lease ran out (it died or hung: the event is sent again
    /// rather than lost). A head that no live grant of the webhook's client covers any more
    /// (the owner revoked it after the event was queued) is dropped instead: marked failed,
    /// never sent. This is checked here, just before the attempt, not when the event was queued.
    public func claim(limit: Int, leaseSeconds: Double) async throws -> Round {
        let rows = try await database.query(
            """
            -- Only webhooks with undelivered deliveries are visited, found by skipping through the
            -- partial index webhook_deliveries_queue (webhook_id, event_seq) one webhook at a time:
            -- the cost follows the backlog's webhooks, not every webhook there is.
            WITH RECURSIVE queued(webhook_id) AS (
                (SELECT webhook_id FROM webhook_deliveries
                 WHERE status IN ('pending', 'sending') ORDER BY webhook_id LIMIT 1)
                UNION ALL
                SELECT (SELECT d.webhook_id FROM webhook_deliveries d
                        WHERE d.status IN ('pending', 'sending') AND d.webhook_id > queued.webhook_id
                        ORDER BY d.webhook_id LIMIT 1)
                FROM queued WHERE queued.webhook_id IS NOT NULL
            ),
            heads AS (
                SELECT h.delivery_id
                FROM queued q
                CROSS JOIN LATERAL (
                    SELECT d.delivery_id, d.webhook_id, d.status, d.next_attempt_at, d.lease_until
                    FROM webhook_deliveries d
                    WHERE d.webhook_id = q.webhook_id AND d.status IN ('pending', 'sending')
                    ORDER BY d.event_seq LIMIT 1) h
                -- The webhook's row is locked only for a due head, looked up by its key (a lateral
                -- subquery, so the planner cannot turn it into a scan of every webhook).
                CROSS JOIN LATERAL (
                    SELECT w.webhook_id FROM webhooks w
                    WHERE w.webhook_id = h.webhook_id AND w.deleted_at IS NULL
                    FOR UPDATE SKIP LOCKED) w
                WHERE (h.status = 'pending' AND h.next_attempt_at <= now()) OR (h.status = 'sending' AND h.lease_until < now())
                LIMIT $1
            )
            UPDATE webhook_deliveries d
            SET status = CASE WHEN covered.live THEN 'sending' ELSE 'failed' END,
                attempts = d.attempts + CASE WHEN covered.live THEN 1 ELSE 0 END,
                lease_until = CASE WHEN covered.live THEN clock_timestamp() + make_interval(secs => $2) END,
                last_error = CASE WHEN covered.live THEN d.last_error ELSE $3 END
            FROM heads, webhooks w, events e, LATERAL (SELECT event_visible_to(e, w.client_id) AS live) covered
            WHERE d.delivery_id = heads.delivery_id AND w.webhook_id = d.webhook_id AND e.event_id = d.event_id
              -- Checked again on the row itself: if another instance claimed it after this
              -- statement's snapshot was taken, PostgreSQL re-evaluates this on the new version.
              AND ((d.status = 'pending' AND d.next_attempt_at <= now()) OR (d.status = 'sending' AND d.lease_until < now()))
            RETURNING d.status = 'sending', d.delivery_id, d.webhook_id, d.attempts, w.url, w.secret_sealed,
                CASE WHEN w.previous_secret_until > now() THEN w.previous_secret_sealed END,
                d.event_id, event_envelope_for(e, w.client_id)::text, e.occurred_at
            """, [limit, leaseSeconds, Self.droppedError]
        ).rows
        let claims = try rows.filter { try $0.decode(Bool.self, at: 0) }.map { row in
            Claim(
                deliveryID: try row.decode(UUID.self, at: 1), webhookID: try row.decode(UUID.self, at: 2),
                attempt: try row.decode(Int.self, at: 3), url: try row.decode(String.self, at: 4),
                secretSealed: try row.decode(PostgresBytes.self, at: 5).bytes,
                previousSecretSealed: try row.decode(PostgresBytes?.self, at: 6)?.bytes,
                eventID: try row.decode(UUID.self, at: 7), payload: try row.decode(String.self, at: 8),
                occurredAt: try row.decode(Date.self, at: 9))
        }
        return Round(claims: claims, dropped: rows.count - claims.count)
    }

    /// `last_error` of a delivery dropped because its grant is gone.
    public static let droppedError = "not sent: the owner's grant to this client was revoked (or never covered this event)"

    /// A 2xx: done. Ignored if the claim was lost meanwhile (its lease ran out and another
    /// instance took it).
    public func delivered(_ claim: Claim, status: Int) async throws {
        try await database.query(
            """
            UPDATE webhook_deliveries SET status = 'delivered', delivered_at = now(), last_status = $3,
                last_error = NULL, lease_until = NULL
            WHERE delivery_id = $1 AND attempts = $2 AND status = 'sending'
            """, [claim.deliveryID, claim.attempt, status])
    }

    /// Anything else: the next attempt after `retryInSeconds`, but never later than the end of
    /// the retry window, which gets one last attempt; after that the delivery has failed.
    /// Returns true when it has failed for good.
    @discardableResult
    public func attemptFailed(
        _ claim: Claim, status: Int?, error: String, retryInSeconds: Double, retryWindowSeconds: Int
    ) async throws -> Bool {
        try await database.query(
            """
            UPDATE webhook_deliveries SET last_status = $3, last_error = left($4, 500), lease_until = NULL,
                status = CASE WHEN now() >= created_at + make_interval(secs => $5) THEN 'failed' ELSE 'pending' END,
                next_attempt_at = least(now() + make_interval(secs => $6), created_at + make_interval(secs => $5))
            WHERE delivery_id = $1 AND attempts = $2 AND status = 'sending'
            RETURNING status
            """, [claim.deliveryID, claim.attempt, status, error, retryWindowSeconds, retryInSeconds]
        ).singleRow()?.decode(String.self, at: 0) == "failed"
    }

    /// Deliveries not yet delivered or failed.
    public func backlog() async throws -> Int {
        try await database.query(
            "SELECT count(*) FROM webhook_deliveries WHERE status IN ('pending', 'sending')"
        ).firstRow().decode(Int.self, at: 0)
    }
}
