import Dispatch
import Foundation
import Logging
import NIOConcurrencyHelpers
@testable import Postgres
import Testing

/// Test fixtures: `make test` starts a throwaway PostgreSQL and passes its URL in
/// LOCKCLOUD_TEST_DATABASE_URL. Every test gets a fresh database of its own, so tests run in
/// parallel without seeing each other's tables.
enum TestDatabase {
    static let logger = Logger(label: "postgres-tests")

    static var serverURL: String {
        get throws {
            guard let url = ProcessInfo.processInfo.environment["LOCKCLOUD_TEST_DATABASE_URL"] else {
                throw PostgresError(.misuse, "LOCKCLOUD_TEST_DATABASE_URL is not set: run the tests with `make test`")
            }
            return url
        }
    }

    /// Creates an empty database, runs `body` with a pool on it, and drops it afterwards.
    static func withScratchDatabase<T>(
        poolSize: Int = 4, acquireTimeout: Duration = .seconds(5),
        configure: (inout PostgresConnectionSettings) -> Void = { _ in },
        _ body: (PostgresConnectionPool, String) async throws -> T
    ) async throws -> T {
        let name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let admin = try PostgresConnection.connect(.init(url: try serverURL), logger: logger)
        // CREATE DATABASE takes an identifier, which cannot be a bound parameter; the name is
        // made of [a-z0-9_] above. Test-only use of the internal script call.
        try admin.executeScript("CREATE DATABASE \(name)")
        let url = try replacingDatabase(in: try serverURL, with: name)
        var settings = PostgresConnectionSettings(url: url)
        configure(&settings)
        let pool = PostgresConnectionPool(
            connection: settings, pool: .init(size: poolSize, acquireTimeout: acquireTimeout), logger: logger)
        do {
            let result = try await body(pool, url)
            await pool.shutdown()
            try admin.executeScript("DROP DATABASE \(name) WITH (FORCE)")
            return result
        } catch {
            await pool.shutdown()
            try? admin.executeScript("DROP DATABASE \(name) WITH (FORCE)")
            throw error
        }
    }

    static func replacingDatabase(in url: String, with name: String) throws -> String {
        guard var components = URLComponents(string: url) else { throw PostgresError(.misuse, "bad URL \(url)") }
        components.path = "/" + name
        return components.string!
    }
}

/// Starts a PostgreSQL cluster of its own (via scripts/pg.sh) for tests that stop and restart
/// the server; the shared one must stay up for everyone else.
struct PrivateCluster {
    let dataDirectory: String
    let port: Int
    var url: String { "postgresql://postgres@127.0.0.1:\(port)/lockcloud" }

    static func start() async throws -> PrivateCluster {
        let environment = ProcessInfo.processInfo.environment
        guard let workdir = environment["LOCKCLOUD_TEST_WORKDIR"] else {
            throw PostgresError(.misuse, "LOCKCLOUD_TEST_WORKDIR is not set: run the tests with `make test`")
        }
        let cluster = PrivateCluster(
            dataDirectory: "\(workdir)/pg-\(UUID().uuidString.prefix(8))", port: try freePort())
        try await cluster.run("up", String(cluster.port))
        return cluster
    }

    /// A cluster of its own and a pool on it, both removed afterwards, pass or fail.
    static func withPool(size: Int, _ body: (PrivateCluster, PostgresConnectionPool) async throws -> Void) async throws {
        let cluster = try await PrivateCluster.start()
        let pool = PostgresConnectionPool(
            connection: .init(url: cluster.url, connectTimeoutSeconds: 2),
            pool: .init(size: size, acquireTimeout: .seconds(3)), logger: TestDatabase.logger)
        do {
            try await body(cluster, pool)
        } catch {
            await pool.shutdown()
            await cluster.purge()
            throw error
        }
        await pool.shutdown()
        await cluster.purge()
    }

    func stop() async throws { try await run("stop") }
    func start() async throws { try await run("start", String(port)) }
    func purge() async { try? await run("purge") }

    /// Runs pg.sh with posix_spawn and waits with waitpid on a thread of its own. (Foundation's
    /// Process never reported the exit here: pg_ctl leaves a daemon holding inherited state.)
    private func run(_ arguments: String...) async throws {
        guard let script = ProcessInfo.processInfo.environment["LOCKCLOUD_TEST_PG_SCRIPT"] else {
            throw PostgresError(.misuse, "LOCKCLOUD_TEST_PG_SCRIPT is not set: run the tests with `make test`")
        }
        let argv = [script, arguments[0], dataDirectory] + arguments.dropFirst()
        let status: Int32 = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var pid: pid_t = 0
                let cArguments = argv.map { strdup($0) } + [nil]
                defer { cArguments.forEach { free($0) } }
                guard posix_spawn(&pid, script, nil, nil, cArguments, environ) == 0 else {
                    continuation.resume(returning: -1)
                    return
                }
                var raw: Int32 = 0
                while waitpid(pid, &raw, 0) == -1 && errno == EINTR {}
                continuation.resume(returning: (raw & 0x7f) == 0 ? (raw >> 8) & 0xff : -1)
            }
        }
        guard status == 0 else {
            throw PostgresError(.misuse, "pg.sh \(argv.dropFirst().joined(separator: " ")) exited \(status)")
        }
    }

    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw PostgresError(.misuse, "no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Polls `condition` until it holds; fails after `limit` (generous: only a hang should reach
/// it). Tests wait on observable state with this instead of sleeping and asserting a window.
func eventually(
    _ what: String, limit: Duration = .seconds(60), _ condition: () async throws -> Bool
) async throws {
    let giveUp = ContinuousClock.now + limit
    while !(try await condition()) {
        guard ContinuousClock.now < giveUp else {
            throw PostgresError(.misuse, "gave up waiting for \(what)")
        }
        try await Task.sleep(for: .milliseconds(20))
    }
}

/// A thread-safe counter for closures that run on pool threads.
final class Counter: Sendable {
    private let box = NIOLockedValueBox(0)
    func increment() { box.withLockedValue { $0 += 1 } }
    var value: Int { box.withLockedValue { $0 } }
}
