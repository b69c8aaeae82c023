import Configuration
import Logging
import Postgres

/// Everything `lockcloud serve` can be told. Each setting comes from the command line, else the
/// environment, else its default (see the README's configuration table). Values are parsed
/// here, so a typo stops startup with a message instead of silently using a default.
public struct AppConfiguration: Sendable {
    public var databaseURL: String
    /// A direct connection (never through a transaction-mode pooler) for what needs session
    /// state: `LISTEN` (the notifications that wake waiting locks) and the migrator's advisory
    /// lock. Empty: `databaseURL`.
    public var databaseDirectURL: String
    /// `.unnamed` when `databaseURL` goes through a transaction-mode pooler (PgBouncer).
    public var preparedStatements: PreparedStatementMode
    /// A streaming replica for the reads that allow it (README, Operations: read replicas).
    /// Empty: every read on `databaseURL`.
    public var databaseReadURL: String
    /// Milliseconds a failed read replica is left alone before one read probes it again.
    public var databaseReadBackOffMilliseconds: Int
    public var host: String
    public var port: Int
    public var basePath: String
    public var logLevel: Logger.Level
    public var poolSize: Int
    public var poolAcquireTimeoutMilliseconds: Int
    public var databaseConnectTimeoutSeconds: Int
    /// Database deadlines in milliseconds, 0 = off: the server's `statement_timeout`,
    /// `lock_timeout` and `idle_in_transaction_session_timeout`; our own per-statement deadline
    /// (above the statement timeout, for a server that cannot answer) and the grace a cancelled
    /// statement gets before its connection is discarded; the kernel's `tcp_user_timeout`.
    public var databaseStatementTimeoutMilliseconds: Int
    public var databaseLockTimeoutMilliseconds: Int
    public var databaseIdleInTransactionTimeoutMilliseconds: Int
    public var databaseQueryDeadlineMilliseconds: Int
    public var databaseCancelGraceMilliseconds: Int
    public var databaseTCPUserTimeoutMilliseconds: Int
    /// Seconds an idle database connection waits before TCP keepalive probes start; 0 = off.
    public var databaseKeepaliveIdleSeconds: Int
    public var maxBodyBytes: Int
    public var migrateOnStart: Bool
    public var migrationsDirectory: String
    /// The address owners' browsers and Seam use to reach this server (the OAuth issuer).
    public var publicURL: String
    public var accessTokenSeconds: Int
    public var refreshTokenIdleSeconds: Int
    public var bcryptCost: Int
    /// Base64 of 32 bytes: seals per-lock offline keys (AES-GCM). Required to serve.
    public var keyEncryptionKey: String
    /// Seconds a lock has to answer an action before it fails with DEVICE_TIMEOUT.
    public var actionTimeoutSeconds: Int
    /// Seconds without a heartbeat after which a lock is marked offline.
    public var heartbeatTimeoutSeconds: Int
    /// Seconds `POST /locks/{id}/unlock` waits for the lock.
    public var unlockWaitSeconds: Int
    /// Seconds a heartbeat's `device_time` may be off before `device.time_wrong` (by default the
    /// offline PINs' drift tolerance, beyond which codes open at the wrong times).
    public var deviceTimeToleranceSeconds: Int
    /// Webhooks: whether this instance delivers (any number may), what destinations are
    /// allowed, and the retry schedule.
    public var webhookDelivery: Bool
    public var webhookAllowHTTP: Bool
    public var webhookAllowPrivateNetworks: Bool
    public var webhookTimeoutSeconds: Int
    public var webhookRetryBaseMilliseconds: Int
    public var webhookRetryMaxDelaySeconds: Int
    public var webhookRetryWindowSeconds: Int
    public var webhookConcurrency: Int
    /// Seconds between SIGTERM and closing the listener, with `/health` at 503 meanwhile.
    public var shutdownDrainSeconds: Int
    /// Threads of NIO's event loops (socket reads and writes). 0: half the cores, at least one.
    public var eventLoopThreads: Int
    /// Load balancers whose `X-Forwarded-For` / `Forwarded` are believed (sign-in throttling).
    public var trustedProxies: TrustedProxies
    /// Seconds an Idempotency-Key claim without a response holds its key (a server that died
    /// mid-request cannot release it). Longer than the slowest request.
    public var idempotencyLeaseSeconds: Int
    /// The retention sweeper: whether this instance runs it (any number may), how often, how
    /// much per statement and per run, and the periods (README, Operations).
    public var retention: Bool
    public var retentionIntervalSeconds: Int
    public var retentionBatchSize: Int
    public var retentionMaxBatches: Int
    public var retentionCredentialsSeconds: Int
    public var retentionIdempotencySeconds: Int
    public var retentionDeliveriesSeconds: Int
    public var retentionCommandsSeconds: Int
    public var retentionEventsSeconds: Int

    /// One documented setting: its configuration key (the environment variable is the key in
    /// upper case with `_` for `.`), and its default.
    public struct Setting: Sendable {
        public let key: [String]
        public let defaultValue: String
        public var environmentVariable: String { key.joined(separator: "_").uppercased() }
    }

    public enum Settings {
        public static let databaseURL = Setting(key: ["database", "url"], defaultValue: "postgresql://postgres@127.0.0.1:5432/lockcloud")
        public static let databaseDirectURL = Setting(key: ["database", "direct", "url"], defaultValue: "")
        public static let preparedStatements = Setting(key: ["lockcloud", "db", "prepared", "statements"], defaultValue: "named")
        public static let databaseReadURL = Setting(key: ["database", "read", "url"], defaultValue: "")
        public static let databaseReadBackOff = Setting(key: ["lockcloud", "db", "read", "backoff", "ms"], defaultValue: "5000")
        public static let host = Setting(key: ["lockcloud", "host"], defaultValue: "127.0.0.1")
        public static let port = Setting(key: ["lockcloud", "port"], defaultValue: "8080")
        public static let basePath = Setting(key: ["lockcloud", "base", "path"], defaultValue: "")
        public static let logLevel = Setting(key: ["lockcloud", "log", "level"], defaultValue: "info")
        public static let poolSize = Setting(key: ["lockcloud", "db", "pool", "size"], defaultValue: "8")
        public static let poolAcquireTimeout = Setting(key: ["lockcloud", "db", "acquire", "timeout", "ms"], defaultValue: "3000")
        public static let connectTimeout = Setting(key: ["lockcloud", "db", "connect", "timeout", "seconds"], defaultValue: "3")
        public static let statementTimeout = Setting(key: ["lockcloud", "db", "statement", "timeout", "ms"], defaultValue: "10000")
        public static let lockTimeout = Setting(key: ["lockcloud", "db", "lock", "timeout", "ms"], defaultValue: "5000")
        public static let idleInTransactionTimeout = Setting(
            key: ["lockcloud", "db", "idle", "in", "transaction", "timeout", "ms"], defaultValue: "30000")
        public static let queryDeadline = Setting(key: ["lockcloud", "db", "query", "deadline", "ms"], defaultValue: "12000")
        public static let cancelGrace = Setting(key: ["lockcloud", "db", "cancel", "grace", "ms"], defaultValue: "2000")
        public static let tcpUserTimeout = Setting(key: ["lockcloud", "db", "tcp", "user", "timeout", "ms"], defaultValue: "15000")
        public static let keepaliveIdle = Setting(key: ["lockcloud", "db", "keepalive", "idle", "seconds"], defaultValue: "10")
        public static let maxBodyBytes = Setting(key: ["lockcloud", "max", "body", "bytes"], defaultValue: "65536")
        public static let migrateOnStart = Setting(key: ["lockcloud", "migrate", "on", "start"], defaultValue: "true")
        public static let migrationsDirectory = Setting(key: ["lockcloud", "migrations", "dir"], defaultValue: "migrations")
        /// Empty means `http://HOST:PORT`.
        public static let publicURL = Setting(key: ["lockcloud", "public", "url"], defaultValue: "")
        public static let accessTokenSeconds = Setting(key: ["lockcloud", "access", "token", "seconds"], defaultValue: "3600")
        public static let refreshTokenIdleSeconds = Setting(key: ["lockcloud", "refresh", "token", "idle", "seconds"], defaultValue: "7776000")
        public static let bcryptCost = Setting(key: ["lockcloud", "bcrypt", "cost"], defaultValue: "11")
        public static let actionTimeoutSeconds = Setting(key: ["lockcloud", "action", "timeout", "seconds"], defaultValue: "30")
        public static let heartbeatTimeoutSeconds = Setting(key: ["lockcloud", "heartbeat", "timeout", "seconds"], defaultValue: "60")
        public static let unlockWaitSeconds = Setting(key: ["lockcloud", "unlock", "wait", "seconds"], defaultValue: "10")
        public static let deviceTimeToleranceSeconds = Setting(
            key: ["lockcloud", "device", "time", "tolerance", "seconds"], defaultValue: "900")
        public static let webhookDelivery = Setting(key: ["lockcloud", "webhook", "delivery"], defaultValue: "true")
        public static let webhookAllowHTTP = Setting(key: ["lockcloud", "webhook", "allow", "http"], defaultValue: "false")
        public static let webhookAllowPrivateNetworks = Setting(key: ["lockcloud", "webhook", "allow", "private", "networks"], defaultValue: "false")
        public static let webhookTimeoutSeconds = Setting(key: ["lockcloud", "webhook", "timeout", "seconds"], defaultValue: "10")
        public static let webhookRetryBaseMilliseconds = Setting(key: ["lockcloud", "webhook", "retry", "base", "ms"], defaultValue: "5000")
        public static let webhookRetryMaxDelaySeconds = Setting(key: ["lockcloud", "webhook", "retry", "max", "delay", "seconds"], defaultValue: "3600")
        public static let webhookRetryWindowSeconds = Setting(key: ["lockcloud", "webhook", "retry", "window", "seconds"], defaultValue: "86400")
        public static let webhookConcurrency = Setting(key: ["lockcloud", "webhook", "concurrency"], defaultValue: "16")
        public static let shutdownDrainSeconds = Setting(key: ["lockcloud", "shutdown", "drain", "seconds"], defaultValue: "0")
        public static let eventLoopThreads = Setting(key: ["lockcloud", "event", "loop", "threads"], defaultValue: "0")
        /// Comma-separated CIDRs; empty: no proxy is trusted, the socket peer is the client.
        public static let trustedProxies = Setting(key: ["lockcloud", "trusted", "proxies"], defaultValue: "")
        public static let idempotencyLeaseSeconds = Setting(key: ["lockcloud", "idempotency", "lease", "seconds"], defaultValue: "60")
        public static let retention = Setting(key: ["lockcloud", "retention"], defaultValue: "true")
        public static let retentionIntervalSeconds = Setting(key: ["lockcloud", "retention", "interval", "seconds"], defaultValue: "300")
        public static let retentionBatchSize = Setting(key: ["lockcloud", "retention", "batch", "size"], defaultValue: "1000")
        public static let retentionMaxBatches = Setting(key: ["lockcloud", "retention", "max", "batches"], defaultValue: "100")
        public static let retentionCredentialsSeconds = Setting(
            key: ["lockcloud", "retention", "credentials", "seconds"], defaultValue: "86400")
        public static let retentionIdempotencySeconds = Setting(
            key: ["lockcloud", "retention", "idempotency", "seconds"], defaultValue: "86400")
        public static let retentionDeliveriesSeconds = Setting(
            key: ["lockcloud", "retention", "deliveries", "seconds"], defaultValue: "2592000")
        public static let retentionCommandsSeconds = Setting(
            key: ["lockcloud", "retention", "commands", "seconds"], defaultValue: "2592000")
        public static let retentionEventsSeconds = Setting(key: ["lockcloud", "retention", "events", "seconds"], defaultValue: "7776000")
        /// No default on purpose: a key everyone knows protects nothing.
        public static let keyEncryptionKey = Setting(key: ["lockcloud", "key", "encryption", "key"], defaultValue: "")
    }

    public struct InvalidSetting: Error, CustomStringConvertible {
        public let description: String
    }

    /// Reads the settings from `reader` (command line first, then environment, in the caller's
    /// provider order), falling back to each setting's default.
    public init(reader: ConfigReader) throws {
        func text(_ setting: Setting) -> String {
            reader.string(
                forKey: ConfigKey(setting.key),
                isSecret: [Settings.databaseURL.key, Settings.databaseDirectURL.key, Settings.databaseReadURL.key].contains(setting.key))
                ?? setting.defaultValue
        }
        func integer(_ setting: Setting, _ range: ClosedRange<Int>) throws -> Int {
            let raw = text(setting)
            guard let value = Int(raw), range.contains(value) else {
                throw InvalidSetting(description: "\(setting.environmentVariable)=\(raw) must be a whole number in \(range.lowerBound)...\(range.upperBound)")
            }
            return value
        }
        func flag(_ setting: Setting) throws -> Bool {
            switch text(setting).lowercased() {
            case "1", "true", "yes", "on": return true
            case "0", "false", "no", "off": return false
            case let raw: throw InvalidSetting(description: "\(setting.environmentVariable)=\(raw) must be true or false")
            }
        }

        databaseURL = text(Settings.databaseURL)
        databaseDirectURL = text(Settings.databaseDirectURL)
        let mode = text(Settings.preparedStatements)
        guard let preparedStatements = PreparedStatementMode(rawValue: mode) else {
            throw InvalidSetting(description: "\(Settings.preparedStatements.environmentVariable)=\(mode) must be named or unnamed")
        }
        self.preparedStatements = preparedStatements
        // LISTEN and the migrator's lock would silently break through a transaction-mode pooler.
        if preparedStatements == .unnamed && databaseDirectURL.isEmpty {
            throw InvalidSetting(description: "\(Settings.preparedStatements.environmentVariable)=unnamed (a transaction-mode pooler) needs \(Settings.databaseDirectURL.environmentVariable), a direct connection for LISTEN and migrations")
        }
        databaseReadURL = text(Settings.databaseReadURL)
        databaseReadBackOffMilliseconds = try integer(Settings.databaseReadBackOff, 1...600_000)
        host = text(Settings.host)
        port = try integer(Settings.port, 0...65535)
        basePath = try Self.normalizedBasePath(text(Settings.basePath))
        let level = text(Settings.logLevel)
        guard let parsedLevel = Logger.Level(rawValue: level.lowercased()) else {
            throw InvalidSetting(description: "\(Settings.logLevel.environmentVariable)=\(level) must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        logLevel = parsedLevel
        poolSize = try integer(Settings.poolSize, 1...256)
        poolAcquireTimeoutMilliseconds = try integer(Settings.poolAcquireTimeout, 1...600_000)
        databaseConnectTimeoutSeconds = try integer(Settings.connectTimeout, 1...600)
        databaseStatementTimeoutMilliseconds = try integer(Settings.statementTimeout, 0...3_600_000)
        databaseLockTimeoutMilliseconds = try integer(Settings.lockTimeout, 0...3_600_000)
        databaseIdleInTransactionTimeoutMilliseconds = try integer(Settings.idleInTransactionTimeout, 0...3_600_000)
        databaseQueryDeadlineMilliseconds = try integer(Settings.queryDeadline, 0...3_600_000)
        databaseCancelGraceMilliseconds = try integer(Settings.cancelGrace, 1...600_000)
        databaseTCPUserTimeoutMilliseconds = try integer(Settings.tcpUserTimeout, 0...3_600_000)
        databaseKeepaliveIdleSeconds = try integer(Settings.keepaliveIdle, 0...86_400)
        maxBodyBytes = try integer(Settings.maxBodyBytes, 1024...(64 << 20))
        migrateOnStart = try flag(Settings.migrateOnStart)
        migrationsDirectory = text(Settings.migrationsDirectory)
        accessTokenSeconds = try integer(Settings.accessTokenSeconds, 60...86_400)
        refreshTokenIdleSeconds = try integer(Settings.refreshTokenIdleSeconds, 3600...(5 * 366 * 86_400))
        bcryptCost = try integer(Settings.bcryptCost, 4...16)
        actionTimeoutSeconds = try integer(Settings.actionTimeoutSeconds, 1...3600)
        heartbeatTimeoutSeconds = try integer(Settings.heartbeatTimeoutSeconds, 2...86_400)
        unlockWaitSeconds = try integer(Settings.unlockWaitSeconds, 1...60)
        deviceTimeToleranceSeconds = try integer(Settings.deviceTimeToleranceSeconds, 1...86_400)
        webhookDelivery = try flag(Settings.webhookDelivery)
        webhookAllowHTTP = try flag(Settings.webhookAllowHTTP)
        webhookAllowPrivateNetworks = try flag(Settings.webhookAllowPrivateNetworks)
        webhookTimeoutSeconds = try integer(Settings.webhookTimeoutSeconds, 1...120)
        webhookRetryBaseMilliseconds = try integer(Settings.webhookRetryBaseMilliseconds, 10...3_600_000)
        webhookRetryMaxDelaySeconds = try integer(Settings.webhookRetryMaxDelaySeconds, 1...86_400)
        webhookRetryWindowSeconds = try integer(Settings.webhookRetryWindowSeconds, 1...(30 * 86_400))
        webhookConcurrency = try integer(Settings.webhookConcurrency, 1...256)
        shutdownDrainSeconds = try integer(Settings.shutdownDrainSeconds, 0...300)
        eventLoopThreads = try integer(Settings.eventLoopThreads, 0...256)
        let proxies = text(Settings.trustedProxies)
        guard let parsedProxies = TrustedProxies(parsing: proxies) else {
            throw InvalidSetting(description: "\(Settings.trustedProxies.environmentVariable)=\(proxies) must be comma-separated CIDRs like 10.0.0.0/8, 2001:db8::/32")
        }
        trustedProxies = parsedProxies
        idempotencyLeaseSeconds = try integer(Settings.idempotencyLeaseSeconds, 1...86_400)
        retention = try flag(Settings.retention)
        retentionIntervalSeconds = try integer(Settings.retentionIntervalSeconds, 1...86_400)
        retentionBatchSize = try integer(Settings.retentionBatchSize, 1...100_000)
        retentionMaxBatches = try integer(Settings.retentionMaxBatches, 1...1_000_000)
        let year = 366 * 86_400
        retentionCredentialsSeconds = try integer(Settings.retentionCredentialsSeconds, 0...(10 * year))
        // Never shorter than the lease: a key still in flight must not be deleted under it.
        retentionIdempotencySeconds = try integer(Settings.retentionIdempotencySeconds, idempotencyLeaseSeconds...(10 * year))
        retentionDeliveriesSeconds = try integer(Settings.retentionDeliveriesSeconds, 0...(10 * year))
        retentionCommandsSeconds = try integer(Settings.retentionCommandsSeconds, 0...(10 * year))
        retentionEventsSeconds = try integer(Settings.retentionEventsSeconds, 0...(10 * year))
        keyEncryptionKey = reader.string(forKey: ConfigKey(Settings.keyEncryptionKey.key), isSecret: true) ?? ""
        let rawURL = text(Settings.publicURL)
        var url = rawURL.isEmpty ? "http://\(host):\(port)" : rawURL
        while url.hasSuffix("/") { url.removeLast() }
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw InvalidSetting(description: "\(Settings.publicURL.environmentVariable)=\(rawURL) must start with http:// or https://")
        }
        publicURL = url + basePath
    }

    /// `""` or `/api/v1` style: a leading slash, no trailing one.
    static func normalizedBasePath(_ raw: String) throws -> String {
        var path = raw
        while path.hasSuffix("/") { path.removeLast() }
        guard !path.isEmpty else { return "" }
        guard path.hasPrefix("/"), !path.contains("?"), !path.contains("#"), !path.contains(" ") else {
            throw InvalidSetting(description: "\(Settings.basePath.environmentVariable)=\(raw) must be a path like /api")
        }
        return path
    }

    public var connectionSettings: PostgresConnectionSettings {
        func milliseconds(_ value: Int) -> Duration? { value > 0 ? .milliseconds(value) : nil }
        return PostgresConnectionSettings(
            url: databaseURL, connectTimeoutSeconds: databaseConnectTimeoutSeconds,
            statementTimeout: milliseconds(databaseStatementTimeoutMilliseconds),
            lockTimeout: milliseconds(databaseLockTimeoutMilliseconds),
            idleInTransactionTimeout: milliseconds(databaseIdleInTransactionTimeoutMilliseconds),
            queryDeadline: milliseconds(databaseQueryDeadlineMilliseconds),
            cancelGrace: .milliseconds(databaseCancelGraceMilliseconds),
            tcpKeepaliveIdleSeconds: databaseKeepaliveIdleSeconds > 0 ? databaseKeepaliveIdleSeconds : nil,
            tcpUserTimeout: milliseconds(databaseTCPUserTimeoutMilliseconds),
            preparedStatements: preparedStatements)
    }

    /// The connection for session state (the notification listener, migrations):
    /// `connectionSettings` at `databaseDirectURL`, where named statements and startup options work.
    public var directConnectionSettings: PostgresConnectionSettings {
        var settings = connectionSettings
        if !databaseDirectURL.isEmpty {
            settings.url = databaseDirectURL
            settings.preparedStatements = .named
        }
        return settings
    }

    /// The read replica's connections, if there is one: `connectionSettings` at
    /// `databaseReadURL`, named apart in `pg_stat_activity`. Direct, like `databaseDirectURL`
    /// (named statements, startup options): a replica read checks the replay position and
    /// reads in one server session, which a transaction-mode pooler would not keep.
    public var readConnectionSettings: PostgresConnectionSettings? {
        guard !databaseReadURL.isEmpty else { return nil }
        var settings = connectionSettings
        settings.url = databaseReadURL
        settings.preparedStatements = .named
        settings.applicationName = "lockcloud-read"
        return settings
    }

    public var poolSettings: PostgresPoolSettings {
        PostgresPoolSettings(size: poolSize, acquireTimeout: .milliseconds(poolAcquireTimeoutMilliseconds))
    }
}
