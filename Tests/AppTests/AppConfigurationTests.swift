@testable import App
import Configuration
import Logging
@testable import Postgres
import Testing

@Suite("Configuration: command line over environment over defaults")
struct AppConfigurationTests {
    static func reader(commandLine: [String: String] = [:], environment: [String: String] = [:]) -> ConfigReader {
        var values: [AbsoluteConfigKey: ConfigValue] = [:]
        for (key, value) in commandLine {
            values[AbsoluteConfigKey(key.split(separator: ".").map(String.init))] = .init(.string(value), isSecret: false)
        }
        return ConfigReader(providers: [
            InMemoryProvider(values: values),
            EnvironmentVariablesProvider(environmentVariables: environment),
        ])
    }

    @Test("every setting has its documented default")
    func defaults() throws {
        let config = try AppConfiguration(reader: Self.reader())
        #expect(config.databaseURL == "postgresql://postgres@127.0.0.1:5432/lockcloud")
        #expect(config.host == "127.0.0.1")
        #expect(config.port == 8080)
        #expect(config.basePath == "")
        #expect(config.logLevel == .info)
        #expect(config.poolSize == 8)
        #expect(config.poolAcquireTimeoutMilliseconds == 3000)
        #expect(config.maxBodyBytes == 65536)
        #expect(config.migrateOnStart == true)
        #expect(config.migrationsDirectory == "migrations")
        #expect(config.eventLoopThreads == 0)
    }

    @Test("environment variables override defaults, the command line overrides both")
    func precedence() throws {
        let environment = ["DATABASE_URL": "postgresql://env/db", "LOCKCLOUD_PORT": "9000", "LOCKCLOUD_DB_POOL_SIZE": "12",
                           "LOCKCLOUD_MIGRATE_ON_START": "false", "LOCKCLOUD_BASE_PATH": "/api/",
                           "LOCKCLOUD_EVENT_LOOP_THREADS": "3"]
        let fromEnvironment = try AppConfiguration(reader: Self.reader(environment: environment))
        #expect(fromEnvironment.eventLoopThreads == 3)
        #expect(fromEnvironment.databaseURL == "postgresql://env/db")
        #expect(fromEnvironment.port == 9000)
        #expect(fromEnvironment.poolSize == 12)
        #expect(fromEnvironment.migrateOnStart == false)
        #expect(fromEnvironment.basePath == "/api")

        let both = try AppConfiguration(reader: Self.reader(commandLine: ["lockcloud.port": "9100"], environment: environment))
        #expect(both.port == 9100)
        #expect(both.poolSize == 12)
    }

    @Test("behind a transaction pooler: unnamed statements on DATABASE_URL, named ones and startup options on the direct URL")
    func poolerSettings() throws {
        let plain = try AppConfiguration(reader: Self.reader())
        #expect(plain.connectionSettings.preparedStatements == .named)
        #expect(plain.directConnectionSettings.url == plain.databaseURL)

        let pooled = try AppConfiguration(reader: Self.reader(environment: [
            "DATABASE_URL": "postgresql://bouncer:6432/lockcloud", "DATABASE_DIRECT_URL": "postgresql://primary:5432/lockcloud",
            "LOCKCLOUD_DB_PREPARED_STATEMENTS": "unnamed",
        ]))
        #expect(pooled.connectionSettings.url == "postgresql://bouncer:6432/lockcloud")
        #expect(pooled.connectionSettings.preparedStatements == .unnamed)
        #expect(!pooled.connectionSettings.connectionParameters.contains { $0.0 == "options" })
        #expect(pooled.directConnectionSettings.url == "postgresql://primary:5432/lockcloud")
        #expect(pooled.directConnectionSettings.preparedStatements == .named)
        #expect(pooled.directConnectionSettings.connectionParameters.contains { $0.0 == "options" })

        #expect(throws: AppConfiguration.InvalidSetting.self) {
            try AppConfiguration(reader: Self.reader(environment: ["LOCKCLOUD_DB_PREPARED_STATEMENTS": "unnamed"]))
        }
        #expect(throws: AppConfiguration.InvalidSetting.self) {
            try AppConfiguration(reader: Self.reader(environment: ["LOCKCLOUD_DB_PREPARED_STATEMENTS": "Named"]))
        }
    }

    @Test("the idempotency lease and the retention periods have their documented defaults")
    func retentionDefaults() throws {
        let config = try AppConfiguration(reader: Self.reader())
        #expect(config.idempotencyLeaseSeconds == 60)
        #expect(config.retention == true)
        #expect(config.retentionIntervalSeconds == 300)
        #expect(config.retentionBatchSize == 1000)
        #expect(config.retentionMaxBatches == 100)
        #expect(config.retentionCredentialsSeconds == 86_400)
        #expect(config.retentionIdempotencySeconds == 86_400)
        #expect(config.retentionDeliveriesSeconds == 30 * 86_400)
        #expect(config.retentionCommandsSeconds == 30 * 86_400)
        #expect(config.retentionEventsSeconds == 90 * 86_400)
    }

    @Test("invalid values stop startup with the variable's name",
          arguments: [("LOCKCLOUD_PORT", "http"), ("LOCKCLOUD_PORT", "70000"), ("LOCKCLOUD_DB_POOL_SIZE", "0"),
                      ("LOCKCLOUD_LOG_LEVEL", "loud"), ("LOCKCLOUD_MIGRATE_ON_START", "maybe"), ("LOCKCLOUD_BASE_PATH", "api"),
                      ("LOCKCLOUD_RETENTION_BATCH_SIZE", "0"), ("LOCKCLOUD_RETENTION", "sometimes"),
                      // Keys may not be deleted while a claim on them could still be in flight.
                      ("LOCKCLOUD_RETENTION_IDEMPOTENCY_SECONDS", "30")])
    func rejectsInvalid(variable: String, value: String) {
        let error = #expect(throws: AppConfiguration.InvalidSetting.self) {
            try AppConfiguration(reader: Self.reader(environment: [variable: value]))
        }
        #expect(error?.description.contains(variable) == true)
    }
}
