import Foundation
import Hummingbird
import Logging
import LockCloudAPI
import Metrics
import OpenAPIHummingbird
import OpenAPIRuntime
import Locks
import Webhooks
import OAuth
import Postgres
import Prometheus
import ServiceLifecycle

/// Builds the LockCloud server: database pool, migrations (unless turned off), router,
/// middleware and the generated API. `onServerRunning` receives the bound port (useful with
/// port 0 in tests and benchmarks).
public func buildApplication(
    _ config: AppConfiguration,
    metrics: PrometheusCollectorRegistry,
    logger: Logger,
    shutdown: ShutdownState = ShutdownState(),
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) async throws -> some ApplicationProtocol {
    let sealer: KeySealer
    do {
        sealer = try KeySealer(base64Key: config.keyEncryptionKey)
    } catch {
        throw AppConfiguration.InvalidSetting(description: "\(error)")
    }
    let pool = PostgresConnectionPool(connection: config.connectionSettings, pool: config.poolSettings, logger: logger)
    if config.migrateOnStart {
        // On the direct connection: the migrator holds an advisory lock for the whole run.
        let migrationPool = PostgresConnectionPool(
            connection: config.directConnectionSettings, pool: .init(size: 1, acquireTimeout: .seconds(600)), logger: logger,
            metricsPrefix: "lockcloud_db_migration_pool")
        do {
            let migrations = try Migration.load(from: config.migrationsDirectory)
            let report = try await Migrator(pool: migrationPool, logger: logger).migrate(migrations)
            await migrationPool.shutdown()
            logger.info("database schema is current", metadata: ["applied": "\(report.applied.count)", "already": "\(report.alreadyApplied)"])
        } catch {
            await migrationPool.shutdown()
            await pool.shutdown()
            throw error
        }
    }

    let replica = readReplica(config, logger: logger)
    let routes = RouteTable()
    let router = Router(context: AppRequestContext.self)
    router.add(middleware: MetricsMiddleware())
    router.add(middleware: LogRequestsMiddleware(.debug))
    router.add(middleware: ErrorMiddleware(routes: routes))

    let oauth = OAuthServices(database: pool, config: config)
    router.add(middleware: RequestBodyLimitMiddleware(maxBytes: config.maxBodyBytes))
    router.add(middleware: IdempotencyMiddleware(
        database: pool, tokens: oauth.tokens, clients: oauth.clients, sealer: sealer, maxBodyBytes: config.maxBodyBytes,
        leaseSeconds: config.idempotencyLeaseSeconds, retentionSeconds: config.retentionIdempotencySeconds))
    let actions = ActionStore(database: pool)
    let accessCodes = AccessCodeStore(database: pool)
    let gateway = DeviceGatewayStore(
        database: pool, deviceTimeToleranceSeconds: Int64(config.deviceTimeToleranceSeconds))
    let offlineCodes = OfflineCodeRegistry(database: pool, sealer: sealer)
    let lockStore = LockStore(database: pool, sealer: sealer)
    let handler = APIHandler(
        database: pool, owners: oauth.owners, locks: lockStore, actions: actions,
        accessCodes: accessCodes, offlineCodes: offlineCodes,
        unlockWaitSeconds: config.unlockWaitSeconds, shutdown: shutdown, metrics: metrics, logger: logger)
    // The reads answering lock and access code bodies, by hand (the generator config says why).
    // Their lists (and a single code) may be served by the read replica (ReplicaRouted).
    LockReadRoutes(locks: ReplicaRouted(primary: pool, replica: replica) { LockStore(database: $0, sealer: sealer) }, tokens: oauth.tokens)
        .register(on: router, routes: routes, basePath: config.basePath)
    AccessCodeReadRoutes(accessCodes: ReplicaRouted(primary: pool, replica: replica, AccessCodeStore.init), tokens: oauth.tokens)
        .register(on: router, routes: routes, basePath: config.basePath)
    try handler.registerHandlers(
        on: RecordingTransport(router: router, table: routes),
        serverURL: URL(string: config.basePath.isEmpty ? "/" : config.basePath)!,
        configuration: .init(dateTranscoder: StrictTimestampTranscoder(), jsonEncodingOptions: [.sortedKeys, .withoutEscapingSlashes]),
        middlewares: [BearerAuthMiddleware(tokens: oauth.tokens)])

    registerOAuthRoutes(on: router, routes: routes, services: oauth, basePath: config.basePath)
    AccountPages(
        services: oauth, locks: lockStore, actions: actions, accessCodes: accessCodes, offlineCodes: offlineCodes,
        apps: ConnectedAppStore(database: pool), activity: OwnerActivity(database: pool)
    ).register(on: router, routes: routes)
    let deviceNotifications = DeviceCommandNotifications(
        gateway: gateway, settings: config.directConnectionSettings, logger: logger)
    // Long polls answer when the HTTP server is about to stop, so its wait for them is short.
    shutdown.whenStopping { deviceNotifications.waiters.shutDown() }
    DeviceGatewayRoutes(
        gateway: gateway, offlineCodes: offlineCodes, notifications: deviceNotifications, maxBodyBytes: config.maxBodyBytes
    ).register(on: router, routes: routes, basePath: config.basePath)
    let webhookPolicy = WebhookURLPolicy(allowHTTP: config.webhookAllowHTTP, allowPrivateNetworks: config.webhookAllowPrivateNetworks)
    WebhookRoutes(
        webhooks: WebhookStore(database: pool, sealer: sealer, policy: webhookPolicy), feed: ReplicaRouted(primary: pool, replica: replica, EventFeed.init),
        clients: oauth.clients, tokens: oauth.tokens, maxBodyBytes: config.maxBodyBytes
    ).register(on: router, routes: routes, basePath: config.basePath)
    let sweeper = DeviceSweeperService(
        actions: actions, gateway: gateway, accessCodes: accessCodes, actionTimeoutSeconds: config.actionTimeoutSeconds,
        heartbeatTimeoutSeconds: config.heartbeatTimeoutSeconds, logger: logger)
    var services: [any Service] = [DatabasePoolService(pool: pool), sweeper, deviceNotifications]
    if let replica { services.insert(DatabasePoolService(pool: replica.pool), at: 1) }
    if config.retention {
        services.append(RetentionService(
            database: pool, policy: config.retentionPolicy, intervalSeconds: config.retentionIntervalSeconds, logger: logger))
    }
    if config.webhookDelivery {
        services.append(try webhookDelivery(config, sealer: sealer, policy: webhookPolicy, logger: logger))
    }

    return Application(
        // Locks stay connected: their requests run in child tasks (ChildTaskResponder says why).
        responder: ChildTaskResponder(inner: router.buildResponder(), pathPrefix: config.basePath + "/device/v1/"),
        configuration: .init(address: .hostname(config.host, port: config.port), serverName: "LockCloud"),
        services: services,
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? config.port) },
        logger: logger)
}

/// Keeps the pool for the server's lifetime and closes it after the HTTP server has stopped
/// (services shut down in reverse order, and the server is started last), so in-flight
/// requests finish with their database connections.
struct DatabasePoolService: Service {
    let pool: PostgresConnectionPool

    func run() async throws {
        try? await gracefulShutdown()
        await pool.shutdown()
    }
}

/// The read replica's pool and routing when `DATABASE_READ_URL` is set: as many connections as
/// the primary's pool, its own metrics (`lockcloud_db_read_pool_*`).
func readReplica(_ config: AppConfiguration, logger: Logger) -> ReadReplica? {
    guard let settings = config.readConnectionSettings else { return nil }
    let pool = PostgresConnectionPool(
        connection: settings, pool: config.poolSettings, logger: logger, metricsPrefix: "lockcloud_db_read_pool")
    return ReadReplica(pool: pool, backOff: .milliseconds(config.databaseReadBackOffMilliseconds), logger: logger)
}

/// The delivery worker with its own two connections.
func webhookDelivery(_ config: AppConfiguration, sealer: KeySealer, policy: WebhookURLPolicy, logger: Logger) throws -> WebhookDeliveryService {
    let pool = PostgresConnectionPool(
        connection: config.connectionSettings, pool: .init(size: 2, acquireTimeout: .seconds(5)), logger: logger,
        metricsPrefix: "lockcloud_db_webhook_pool")
    let settings = DeliverySettings(
        timeoutSeconds: Double(config.webhookTimeoutSeconds), retryBaseSeconds: Double(config.webhookRetryBaseMilliseconds) / 1000,
        retryMaxDelaySeconds: Double(config.webhookRetryMaxDelaySeconds), retryWindowSeconds: config.webhookRetryWindowSeconds,
        concurrency: config.webhookConcurrency)
    let deliverer = try WebhookDeliverer(
        queue: DeliveryQueue(database: pool), sealer: sealer, policy: policy, settings: settings, logger: logger)
    return WebhookDeliveryService(deliverer: deliverer, pool: pool)
}

extension AppConfiguration {
    var retentionPolicy: RetentionPolicy {
        RetentionPolicy(
            credentialsSeconds: retentionCredentialsSeconds, idempotencyKeySeconds: retentionIdempotencySeconds,
            deliverySeconds: retentionDeliveriesSeconds, commandSeconds: retentionCommandsSeconds,
            eventSeconds: retentionEventsSeconds, batchSize: retentionBatchSize, maxBatchesPerRun: retentionMaxBatches)
    }
}
