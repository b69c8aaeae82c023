import Foundation
import NIOConcurrencyHelpers
@testable import Postgres
import Testing

/// `PostgresNotificationListener` against the real database: notifications arrive, a lost
/// session is noticed and replaced (with a new generation, so callers know to catch up), and
/// `stop` ends the thread.
@Suite("notification listener")
struct NotificationListenerTests {
    /// Events as they arrive, for waiting on the next one.
    final class Events: Sendable {
        private let received = NIOLockedValueBox<[PostgresNotificationListener.Event]>([])

        func append(_ event: PostgresNotificationListener.Event) { received.withLockedValue { $0.append(event) } }

        var all: [PostgresNotificationListener.Event] { received.withLockedValue { $0 } }

        /// Waits (on observable state, not a clock) until `matches` holds for the events so far.
        func waitFor(_ what: String, _ matches: ([PostgresNotificationListener.Event]) -> Bool) async throws {
            for _ in 0..<600 {
                if matches(all) { return }
                try await Task.sleep(for: .milliseconds(50))
            }
            Issue.record("\(what) did not happen; events: \(all)")
            throw CancellationError()
        }
    }

    @Test("notifications arrive in order, and a terminated session is replaced with a new generation")
    func receivesAndRecovers() async throws {
        try await TestDatabase.withScratchDatabase { pool, url in
            let channel = "test_" + UUID().uuidString.prefix(8).lowercased()
            let events = Events()
            let listener = PostgresNotificationListener(
                settings: .init(url: url), channels: [channel], logger: TestDatabase.logger, handler: { events.append($0) })
            listener.start()
            try await events.waitFor("listening") { $0.contains(.listening(generation: 1)) }
            #expect(listener.listeningGeneration == 1)

            try await pool.query("SELECT pg_notify($1, 'first'), pg_notify($1, 'second')", [channel])
            try await events.waitFor("two notifications") { events in
                events.compactMap { if case .notification(let n) = $0 { n.payload } else { nil } } == ["first", "second"]
            }

            let pid = try #require(listener.backendPID)
            try await pool.query("SELECT pg_terminate_backend($1)", [Int(pid)])
            try await events.waitFor("lost, then listening again") { events in
                guard let lost = events.firstIndex(of: .lost), let again = events.firstIndex(of: .listening(generation: 2)) else {
                    return false
                }
                return lost < again
            }
            #expect(listener.backendPID != pid)
            try await pool.query("SELECT pg_notify($1, 'third')", [channel])
            try await events.waitFor("a notification on the new session") { events in
                events.contains { if case .notification(let n) = $0 { n.payload == "third" } else { false } }
            }

            await listener.stop()
            #expect(listener.listeningGeneration == nil)
        }
    }

    @Test("a listener whose database cannot be reached retries until stopped, and stop returns")
    func stopsWhileRetrying() async throws {
        let events = Events()
        // Nothing listens on port 1; every attempt is refused at once.
        let listener = PostgresNotificationListener(
            settings: .init(url: "postgresql://postgres@127.0.0.1:1/none", connectTimeoutSeconds: 1), channels: ["x"],
            logger: TestDatabase.logger, handler: { events.append($0) })
        listener.start()
        await listener.stop()
        #expect(listener.listeningGeneration == nil)
        #expect(events.all.isEmpty)
    }
}
