import App
import ArgumentParser
import Foundation
import LockSimulator
import Locks
import Postgres
import Logging
#if canImport(Glibc)
import Glibc
#endif

struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Run simulated locks against a LockCloud device gateway (see LockSimulator for the control API).")

    @Option(help: "The LockCloud server the locks talk to.") var gatewayURL = "http://127.0.0.1:8080"
    @Option(help: "JSON file: [{\"lock_id\": ..., \"device_credential\": ...}] (as written by `lockcloud demo`).")
    var credentials: String
    @Option(help: "Port of the control API on 127.0.0.1; 0 for any free one.") var controlPort = 8090
    @Option(help: "Seconds between heartbeats.") var heartbeatSeconds = 5.0
    @Option(help: "Milliseconds a lock's motor takes to lock or unlock.") var motorMilliseconds = 400
    @Flag(help: "Demo only: every few seconds, take over locks paired since start by issuing them new device credentials (needs --database-url).")
    var adoptNewLocks = false
    @Option(help: "PostgreSQL URL, for --adopt-new-locks (env DATABASE_URL).") var databaseURL: String?
    @Option(help: "trace, debug, info, ...") var logLevel = "info"

    func run() async throws {
        let logger = bootstrapLogging(level: Logger.Level(rawValue: logLevel) ?? .info)
        guard let data = FileManager.default.contents(atPath: credentials),
            let locks = try? JSONDecoder().decode([LockSimulator.LockCredential].self, from: data)
        else { throw ValidationError("cannot read lock credentials from \(credentials)") }
        guard let url = URL(string: gatewayURL.hasSuffix("/") ? gatewayURL : gatewayURL + "/") else {
            throw ValidationError("gateway URL \(gatewayURL) is not a URL")
        }
        let timing = SimulatorTiming(
            heartbeatInterval: .milliseconds(Int(heartbeatSeconds * 1000)), motorDelay: .milliseconds(motorMilliseconds))
        let simulator = LockSimulator(gatewayURL: url, credentials: locks, timing: timing, logger: logger)
        if adoptNewLocks {
            guard let url = databaseURL ?? ProcessInfo.processInfo.environment["DATABASE_URL"] else {
                throw ValidationError("--adopt-new-locks needs --database-url or DATABASE_URL")
            }
            Task { await adopt(into: simulator, databaseURL: url, logger: logger) }
        }
        let watchdogs = Self.exitSoonAfterStopSignals(logger: logger)
        defer { withExtendedLifetime(watchdogs) {} }
        try await simulator.run(controlHost: "127.0.0.1", controlPort: controlPort) { port in
            Self.exitOnStopSignals()
            // Printed on stdout so scripts and tests can find the control API.
            FileHandle.standardOutput.write(Data("simulator: \(locks.count) locks; control API on http://127.0.0.1:\(port)\n".utf8))
        }
        // Stopped (SIGTERM/SIGINT): leave at once. Locks in the middle of a long poll would
        // otherwise hold the process until their requests time out.
        Foundation.exit(0)
    }
}

extension SimulateCommand {
    /// Seconds between SIGTERM/SIGINT and the end of the process at the latest.
    static let stopBoundSeconds = 5.0

    /// Ends the process on SIGTERM/SIGINT from whichever thread the kernel hands the signal to.
    /// ServiceLifecycle sets both signals to SIG_IGN and reads them through a dispatch source,
    /// which on Linux sees only signals that stay pending on threads blocking them; a thread that
    /// does not block them (URLSession's, NIO's) can take the signal and drop it, and the
    /// simulator runs on (the likely cause of simulators that outlived `make run`). With a
    /// handler instead of SIG_IGN no signal is dropped that way.
    /// Installed once the control API runs, that is after ServiceLifecycle's SIG_IGN.
    static func exitOnStopSignals() {
        for number in [SIGTERM, SIGINT] {
            signal(number) { _ in _exit(0) }  // async-signal-safe; a simulated lock has nothing to save
        }
    }

    /// A bound on stopping, whatever the gateway does. The signal starts the graceful stop
    /// (ServiceLifecycle: control API closed, locks cancelled); if anything still holds the
    /// process after `stopBoundSeconds` (a request the networking stack does not give up, an
    /// exit handler that waits for one), it ends anyway: a simulated lock has nothing to save.
    static func exitSoonAfterStopSignals(logger: Logger) -> [any DispatchSourceSignal] {
        [SIGTERM, SIGINT].map { number in
            signal(number, SIG_IGN)  // delivered to the dispatch source instead of killing at once
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                DispatchQueue.global().asyncAfter(deadline: .now() + stopBoundSeconds) {
                    logger.warning("the simulator did not stop within \(stopBoundSeconds) s of the signal; exiting anyway")
                    _exit(0)
                }
            }
            source.resume()
            return source
        }
    }

    /// Locks paired while the demo runs get a fresh credential and join the simulation.
    func adopt(into simulator: LockSimulator, databaseURL: String, logger: Logger) async {
        let pool = PostgresConnectionPool(
            connection: .init(url: databaseURL), pool: .init(size: 1, acquireTimeout: .seconds(10)), logger: logger)
        let store = LockProvisioning(database: pool)
        while !Task.isCancelled {
            do {
                let known = simulator.lockIDs
                for id in try await store.allLiveLockIDs() where !known.contains(id.uuidString.lowercased()) {
                    if let credential = try await store.reissueCredential(lockID: id) {
                        simulator.add(.init(lockID: id.uuidString.lowercased(), deviceCredential: credential))
                        logger.info("simulating newly paired lock", metadata: ["lock": "\(id)"])
                    }
                }
            } catch {
                logger.warning("could not look for new locks", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: .seconds(3))
        }
    }
}
