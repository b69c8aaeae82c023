/// Transaction isolation levels, as PostgreSQL names them.
public enum PostgresIsolation: Sendable {
    case readCommitted
    case repeatableRead
    case serializable
}

extension PostgresConnection {
    /// Runs `body` inside BEGIN ... COMMIT. Any error thrown by `body` (or by COMMIT) rolls the
    /// transaction back and is rethrown; there is no path that leaves it open.
    @discardableResult
    public func transaction<T>(
        isolation: PostgresIsolation = .readCommitted, _ body: (PostgresConnection) throws -> T
    ) throws -> T {
        guard !isInTransaction else {
            throw PostgresError(.misuse, "a transaction is already open on this connection")
        }
        switch isolation {
        case .readCommitted: try query("BEGIN ISOLATION LEVEL READ COMMITTED")
        case .repeatableRead: try query("BEGIN ISOLATION LEVEL REPEATABLE READ")
        case .serializable: try query("BEGIN ISOLATION LEVEL SERIALIZABLE")
        }
        let value: T
        do {
            value = try body(self)
        } catch {
            rollbackQuietly()
            throw error
        }
        let commit: PostgresResult
        do {
            commit = try query("COMMIT")
        } catch {
            rollbackQuietly()
            throw error
        }
        // PostgreSQL answers COMMIT of a transaction that already failed (an error the body
        // caught and ignored) with the tag ROLLBACK and no error: report it as the failure it is.
        guard commit.commandTag == "COMMIT" else {
            throw PostgresError(.misuse, "transaction was rolled back: a statement in it failed")
        }
        return value
    }

    private func rollbackQuietly() {
        guard isInTransaction else { return }
        do {
            try query("ROLLBACK")
        } catch {
            // The connection is unusable if even ROLLBACK fails; drop it so the pool replaces it.
            close()
        }
    }
}

extension PostgresConnectionPool {
    /// Checks out a connection and runs `body` in one transaction on it.
    @discardableResult
    public func transaction<T: Sendable>(
        isolation: PostgresIsolation = .readCommitted,
        _ body: @escaping @Sendable (PostgresConnection) throws -> T
    ) async throws -> T {
        try await withConnection { try $0.transaction(isolation: isolation, body) }
    }

    /// Like `transaction`, but runs the whole transaction again when PostgreSQL aborts it with a
    /// serialization failure (40001) or a deadlock (40P01), the errors that exist to be retried.
    /// Waits with jittered exponential backoff between attempts, without holding a connection.
    @discardableResult
    public func retryingTransaction<T: Sendable>(
        isolation: PostgresIsolation = .serializable,
        maxAttempts: Int = 8,
        _ body: @escaping @Sendable (PostgresConnection) throws -> T
    ) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await transaction(isolation: isolation, body)
            } catch let error as PostgresError where error.isRetryableConflict && attempt < maxAttempts {
                let ceilingMicros = min(2_000 << min(attempt, 6), 100_000)
                try await Task.sleep(for: .microseconds(Int.random(in: ceilingMicros / 2...ceilingMicros)))
                attempt += 1
            }
        }
    }
}
