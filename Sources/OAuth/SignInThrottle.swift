import Postgres

/// Slows down password guessing: after too many failures in the window for one account or one
/// client address, sign-in is refused until the window has passed. Failures are counted for
/// unknown emails too, so the answer never reveals whether an account exists. Counting in
/// PostgreSQL keeps the limit right across any number of server instances.
public struct SignInThrottle: Sendable {
    public static let window = 15 * 60
    public static let maxFailuresPerAccount = 5
    public static let maxFailuresPerAddress = 20

    let database: PostgresConnectionPool

    public init(database: PostgresConnectionPool) {
        self.database = database
    }

    public func isBlocked(email: String, address: String) async throws -> Bool {
        let row = try await database.query(
            """
            SELECT count(*) FILTER (WHERE subject = $1), count(*) FILTER (WHERE subject = $2)
            FROM sign_in_failures
            WHERE subject IN ($1, $2) AND failed_at > now() - make_interval(secs => $3)
            """,
            ["email:" + OwnerStore.normalize(email: email), "address:" + address, Self.window]
        ).rows[0]
        return try row.decode(Int.self, at: 0) >= Self.maxFailuresPerAccount
            || row.decode(Int.self, at: 1) >= Self.maxFailuresPerAddress
    }

    public func recordFailure(email: String, address: String) async throws {
        try await database.transaction { connection in
            for subject in ["email:" + OwnerStore.normalize(email: email), "address:" + address] {
                try connection.query("INSERT INTO sign_in_failures (subject) VALUES ($1)", [subject])
                // Old rows are only clutter; trim them where we write.
                try connection.query(
                    "DELETE FROM sign_in_failures WHERE subject = $1 AND failed_at < now() - interval '1 day'", [subject])
            }
        }
    }
}
