import App
import ArgumentParser
import Configuration
import Logging

/// Options every subcommand accepts. Each overrides its environment variable; unset ones fall
/// back to the environment and then to the defaults in `AppConfiguration.Settings`.
struct CommonOptions: ParsableArguments {
    @Option(help: "PostgreSQL URL (env DATABASE_URL).")
    var databaseURL: String?

    @Option(help: "Address to listen on (env LOCKCLOUD_HOST).")
    var host: String?

    @Option(help: "Port to listen on, 0 for any free port (env LOCKCLOUD_PORT).")
    var port: Int?

    @Option(help: "Path prefix of every route, e.g. /api (env LOCKCLOUD_BASE_PATH).")
    var basePath: String?

    @Option(help: "trace, debug, info, notice, warning, error or critical (env LOCKCLOUD_LOG_LEVEL).")
    var logLevel: String?

    @Option(help: "Database connections in the pool (env LOCKCLOUD_DB_POOL_SIZE).")
    var poolSize: Int?

    @Option(help: "Folder of numbered .sql migrations (env LOCKCLOUD_MIGRATIONS_DIR).")
    var migrationsDir: String?

    @Option(help: "Apply migrations when serve starts: true or false (env LOCKCLOUD_MIGRATE_ON_START).")
    var migrateOnStart: String?

    /// Command line first, then environment, then defaults.
    func configuration() throws -> AppConfiguration {
        typealias S = AppConfiguration.Settings
        var values: [AbsoluteConfigKey: ConfigValue] = [:]
        func set(_ setting: AppConfiguration.Setting, _ value: String?) {
            if let value { values[AbsoluteConfigKey(setting.key)] = .init(.string(value), isSecret: false) }
        }
        set(S.databaseURL, databaseURL)
        set(S.host, host)
        set(S.port, port.map(String.init))
        set(S.basePath, basePath)
        set(S.logLevel, logLevel)
        set(S.poolSize, poolSize.map(String.init))
        set(S.migrationsDirectory, migrationsDir)
        set(S.migrateOnStart, migrateOnStart)
        let reader = ConfigReader(providers: [
            InMemoryProvider(name: "command line", values: values),
            EnvironmentVariablesProvider(),
        ])
        do {
            return try AppConfiguration(reader: reader)
        } catch let error as AppConfiguration.InvalidSetting {
            throw ValidationError(error.description)
        }
    }
}

/// swift-log to standard error at the configured level; called once per process.
func bootstrapLogging(level: Logger.Level) -> Logger {
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = level
        return handler
    }
    var logger = Logger(label: "lockcloud")
    logger.logLevel = level
    return logger
}
