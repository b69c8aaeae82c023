import App
import ArgumentParser
import Postgres

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply pending migrations in order; safe to run from several processes at once.")

    @OptionGroup var options: CommonOptions

    func run() async throws {
        let config = try options.configuration()
        let logger = bootstrapLogging(level: config.logLevel)
        let pool = PostgresConnectionPool(
            connection: config.directConnectionSettings, pool: .init(size: 1, acquireTimeout: .seconds(600)), logger: logger)
        do {
            let migrations = try Migration.load(from: config.migrationsDirectory)
            let report = try await Migrator(pool: pool, logger: logger).migrate(migrations)
            await pool.shutdown()
            print("migrations: \(report.applied.count) applied, \(report.alreadyApplied) already applied")
        } catch {
            await pool.shutdown()
            throw error
        }
    }
}
