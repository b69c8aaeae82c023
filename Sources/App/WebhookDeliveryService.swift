import Logging
import Postgres
import ServiceLifecycle
import Webhooks

/// Runs webhook delivery on its own small database pool, so sending never takes a connection
/// the API needs. On shutdown it stops claiming and lets the attempts in flight finish
/// (each is bounded by the attempt timeout).
struct WebhookDeliveryService: Service {
    let deliverer: WebhookDeliverer
    let pool: PostgresConnectionPool

    func run() async throws {
        await deliverer.run(while: { !Task.isCancelled && !Task.isShuttingDownGracefully })
        await pool.shutdown()
    }
}
