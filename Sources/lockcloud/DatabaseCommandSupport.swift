import App
import Logging
import Postgres

/// Runs `body` with a small pool for an operator command and closes it afterwards.
func withDatabase<T>(_ config: AppConfiguration, _ body: (PostgresConnectionPool, Logger) async throws -> T) async throws -> T {
    let logger = bootstrapLogging(level: config.logLevel)
    let pool = PostgresConnectionPool(
        connection: config.connectionSettings, pool: .init(size: 2, acquireTimeout: .seconds(30)), logger: logger)
    do {
        let result = try await body(pool, logger)
        await pool.shutdown()
        return result
    } catch {
        await pool.shutdown()
        throw error
    }
}
