@testable import Postgres
import Testing

@Suite("Pinned connections: several statements of one task in one server session")
struct PinnedConnectionTests {
    @Test("statements inside withPinnedConnection share a session and hold one connection")
    func oneSession() async throws {
        try await TestDatabase.withScratchDatabase(poolSize: 4) { pool, _ in
            let pids = try await pool.withPinnedConnection { connection -> [Int] in
                #expect(pool.usage.inUse == 1)
                var pids: [Int] = []
                for _ in 0..<5 {
                    pids.append(try await pool.query("SELECT pg_backend_pid()").rows[0].decode(Int.self, at: 0))
                }
                // withConnection (the blocking path) joins the same session too.
                pids.append(try await pool.withConnection { try $0.query("SELECT pg_backend_pid()").rows[0].decode(Int.self, at: 0) })
                #expect(pool.usage.inUse == 1)
                return pids
            }
            #expect(Set(pids).count == 1)
            #expect(pool.usage.inUse == 0)
        }
    }

    @Test("a reconnect opens a new session number, which ReadReplica uses to notice it")
    func sessionNumbers() async throws {
        try await TestDatabase.withScratchDatabase(poolSize: 1) { pool, _ in
            let (first, pid) = try await pool.withPinnedConnection { connection in
                // Read after the statement: the connection opens its first session lazily.
                let pid = try await pool.query("SELECT pg_backend_pid()").rows[0].decode(Int.self, at: 0)
                return (connection.sessionNumber, pid)
            }
            let admin = try PostgresConnection.connect(.init(url: try TestDatabase.serverURL), logger: TestDatabase.logger)
            // With a timeout it returns once the backend has gone, so the pool finds the socket closed.
            try admin.query("SELECT pg_terminate_backend($1, $2)", [pid, 10000])
            let second = try await pool.withPinnedConnection { connection in
                _ = try await pool.query("SELECT 1")
                return connection.sessionNumber
            }
            #expect(second == first + 1)
        }
    }
}
