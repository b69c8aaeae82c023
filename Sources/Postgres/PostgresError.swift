/// An error from the database layer. Server errors keep the fields PostgreSQL reports, so callers
/// can map a constraint name or SQLSTATE to their own error codes without parsing messages.
public struct PostgresError: Error, CustomStringConvertible, CustomDebugStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// A new connection could not be opened (database down, wrong URL, bad credentials).
        case connectionFailed
        /// An open connection broke while in use (database restart, network cut).
        case connectionLost
        /// PostgreSQL answered a statement with an error; `sqlState` says which.
        case server
        /// Every pooled connection stayed busy for the whole acquire timeout.
        case poolTimeout
        /// The pool has been shut down.
        case poolShutdown
        /// A column value could not be decoded into the requested Swift type.
        case decoding
        /// The library was used wrongly (for example a transaction inside a transaction).
        case misuse
        /// A parameter PostgreSQL could not store as given: text with a NUL character, which
        /// libpq would silently cut at the NUL. Nothing was sent; callers answer 400.
        case unstorableParameter
        /// A statement passed its client-side deadline (`queryDeadline`): it was cancelled, and
        /// its connection discarded if it did not answer the cancel. Callers answer 504.
        case timeout
        /// The calling task was cancelled while its statement ran; the statement was cancelled
        /// on the server too (`PQcancel`).
        case cancelled
    }

    public var kind: Kind
    public var message: String
    public var sqlState: String?
    public var detail: String?
    public var hint: String?
    public var constraint: String?
    public var table: String?
    public var column: String?

    public init(
        _ kind: Kind, _ message: String, sqlState: String? = nil, detail: String? = nil,
        hint: String? = nil, constraint: String? = nil, table: String? = nil, column: String? = nil
    ) {
        self.kind = kind
        self.message = message
        self.sqlState = sqlState
        self.detail = detail
        self.hint = hint
        self.constraint = constraint
        self.table = table
        self.column = column
    }

    /// Serialization failure or deadlock: the transaction may succeed if simply run again.
    public var isRetryableConflict: Bool {
        sqlState == SQLState.serializationFailure || sqlState == SQLState.deadlockDetected
    }

    /// The database cannot be used right now; the HTTP edge answers 503 for these.
    public var isUnavailable: Bool {
        switch kind {
        case .connectionFailed, .connectionLost, .poolTimeout, .poolShutdown, .timeout, .cancelled:
            return true
        case .server:
            // Class 08 (connection exception), 57P01-57P03 (admin shutdown, crash, cannot connect now).
            guard let state = sqlState else { return false }
            return state.hasPrefix("08") || state == "57P01" || state == "57P02" || state == "57P03"
        case .decoding, .misuse, .unstorableParameter:
            return false
        }
    }

    /// A deadline ended the statement: ours (`.timeout`), or the server's `statement_timeout`
    /// (57014, also what our `PQcancel` produces) or `lock_timeout` (55P03). The HTTP edge
    /// answers 504 for these.
    public var isTimeout: Bool {
        kind == .timeout || (kind == .server && (sqlState == SQLState.queryCanceled || sqlState == SQLState.lockNotAvailable))
    }

    /// What logs may show. A server error's message and detail can quote row values
    /// (`Failing row contains (...)`, `Key (code)=(1234)`, `invalid input syntax: "..."`),
    /// which may be PINs or secrets: only the SQLSTATE and the names of the constraint, table
    /// and column are shown for those. Other kinds' messages are the library's own words.
    public var description: String {
        var parts = ["PostgresError.\(kind)"]
        if kind != .server { parts[0] += ": \(message)" }
        if let sqlState { parts.append("sqlstate=\(sqlState)") }
        if let constraint { parts.append("constraint=\(constraint)") }
        if let table { parts.append("table=\(table)") }
        if let column { parts.append("column=\(column)") }
        return parts.joined(separator: " ")
    }

    public var debugDescription: String { description }
}

/// SQLSTATE codes the application reacts to. The full list is in PostgreSQL's appendix A.
public enum SQLState {
    public static let uniqueViolation = "23505"
    public static let foreignKeyViolation = "23503"
    public static let checkViolation = "23514"
    public static let exclusionViolation = "23P01"
    public static let serializationFailure = "40001"
    public static let deadlockDetected = "40P01"
    public static let queryCanceled = "57014"
    public static let lockNotAvailable = "55P03"
}
