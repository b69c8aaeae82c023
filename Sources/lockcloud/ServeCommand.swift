import App
import ArgumentParser
import Hummingbird
import Logging
import Metrics
import Prometheus

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Serve the API (applies pending migrations first unless turned off).")

    @OptionGroup var options: CommonOptions

    func run() async throws {
        let config = try options.configuration()
        let logger = bootstrapLogging(level: config.logLevel)
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.nameAndLabelSanitizer = prometheusSafeNames
        MetricsSystem.bootstrap(factory)

        let app = try await buildApplication(config, metrics: registry, logger: logger) { port in
            logger.info("LockCloud is serving", metadata: ["address": "http://\(config.host):\(port)\(config.basePath)"])
        }
        try await app.runService()
    }
}

/// Prometheus names allow only `[a-zA-Z0-9_:]`; Hummingbird's metric labels use dots.
@Sendable func prometheusSafeNames(_ name: String, _ labels: [(String, String)]) -> (String, [(String, String)]) {
    func clean(_ text: String) -> String {
        String(text.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == ":") ? $0 : "_" })
    }
    return (clean(name), labels.map { (clean($0.0), $0.1) })
}
