/// An error from the database layer. Server errors keep the fields PostgreSQL reports, so callers
/// can map a constraint name or SQLSTATE to their own error codes without parsing messages.
public struct PostgresError: Error, CustomStringConvertible, Sendable {
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
        case .connectionFailed, .connectionLost, .poolTimeout, .poolShutdown:
            return true
        case .server:
            // Class 08 (connection exception), 57P01-57P03 (admin shutdown, crash, cannot connect now).
            guard let state = sqlState else { return false }
            return state.hasPrefix("08") || state == "57P01" || state == "57P02" || state == "57P03"
        case .decoding, .misuse:
            return false
        }
    }

    public var description: String {
        var parts = ["PostgresError.\(kind): \(message)"]
        if let sqlState { parts.append("sqlstate=\(sqlState)") }
        if let constraint { parts.append("constraint=\(constraint)") }
        if let detail { parts.append("detail=\(detail)") }
        return parts.joined(separator: " ")
    }
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
}
