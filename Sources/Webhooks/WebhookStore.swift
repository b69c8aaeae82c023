import Foundation
import Locks
import Postgres

/// Webhook registrations, per OAuth client. The signing secret is returned once and stored
/// sealed under the key-encryption key.
public struct WebhookStore: Sendable {
    /// How long a rotated-out secret keeps signing beside the new one.
    public static let previousSecretSeconds = 24 * 3600
    let database: PostgresConnectionPool
    let sealer: KeySealer
    let policy: WebhookURLPolicy

    public init(database: PostgresConnectionPool, sealer: KeySealer, policy: WebhookURLPolicy) {
        self.database = database
        self.sealer = sealer
        self.policy = policy
    }

    static func secretContext(_ id: UUID) -> String { "lockcloud-webhook-secret:\(id.uuidString.lowercased())" }

    /// Registers a webhook; returns it with its secret (shown this once).
    public func register(clientID: String, url: String, eventTypes: [String]) async throws -> (Webhook, secret: String) {
        let checked: URL
        do {
            checked = try policy.validate(url)
            try await policy.checkDestination(checked)
        } catch WebhookURLPolicy.Refusal.invalid(let why) {
            throw WebhookError.invalidURL(why)
        } catch WebhookURLPolicy.Refusal.forbiddenDestination(let why) {
            throw WebhookError.forbiddenDestination(why)
        }
        if let unknown = eventTypes.first(where: { !Webhook.eventTypes.contains($0) }) {
            throw WebhookError.unknownEventType(unknown)
        }
        let id = UUID()
        let secret = WebhookSignature.newSecret()
        let sealed = try sealer.seal(Array(secret.utf8), boundTo: Self.secretContext(id))
        let result = try await database.transaction { connection -> Result<Webhook, WebhookError> in
            // The client's row lock makes count-then-insert exact across instances.
            _ = try connection.query("SELECT 1 FROM oauth_clients WHERE client_id = $1 FOR UPDATE", [clientID])
            let count = try connection.query(
                "SELECT count(*) FROM webhooks WHERE client_id = $1 AND deleted_at IS NULL", [clientID]
            ).firstRow().decode(Int.self, at: 0)
            guard count < Webhook.maxPerClient else { return .failure(.limitReached) }
            let row = try connection.query(
                """
                INSERT INTO webhooks (webhook_id, client_id, url, event_types, secret_sealed)
                VALUES ($1, $2, $3, $4, $5) RETURNING *
                """,
                [id, clientID, checked.absoluteString, PostgresTextArray(Array(Set(eventTypes)).sorted()), PostgresBytes(sealed)]
            ).firstRow()
            return .success(try Webhook(row: row))
        }
        return (try result.get(), secret)
    }

    public func list(clientID: String) async throws -> [Webhook] {
        try await database.query(
            "SELECT * FROM webhooks WHERE client_id = $1 AND deleted_at IS NULL ORDER BY created_at, webhook_id", [clientID]
        ).rows.map(Webhook.init(row:))
    }

    /// Stops the webhook: nothing more is queued for it, and what is queued is not sent.
    public func delete(clientID: String, id: UUID) async throws -> Bool {
        try await database.transaction { connection -> Bool in
            let deleted = try connection.query(
                "UPDATE webhooks SET deleted_at = now() WHERE webhook_id = $1 AND client_id = $2 AND deleted_at IS NULL",
                [id, clientID])
            guard deleted.affectedRows == 1 else { return false }
            try connection.query(
                """
                UPDATE webhook_deliveries SET status = 'failed', last_error = 'webhook deleted'
                WHERE webhook_id = $1 AND status IN ('pending', 'sending')
                """, [id])
            return true
        }
    }

    /// A new secret; the previous one keeps signing beside it for a day.
    public func rotateSecret(clientID: String, id: UUID) async throws -> String {
        let secret = WebhookSignature.newSecret()
        let sealed = try sealer.seal(Array(secret.utf8), boundTo: Self.secretContext(id))
        let updated = try await database.query(
            """
            UPDATE webhooks SET previous_secret_sealed = secret_sealed, secret_sealed = $3,
                previous_secret_until = now() + make_interval(secs => $4)
            WHERE webhook_id = $1 AND client_id = $2 AND deleted_at IS NULL
            """, [id, clientID, PostgresBytes(sealed), Self.previousSecretSeconds])
        guard updated.affectedRows == 1 else { throw WebhookError.notFound }
        return secret
    }
}
