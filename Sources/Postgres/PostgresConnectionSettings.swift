/// Whether statements get server-side names, kept per connection.
public enum PreparedStatementMode: String, Sendable, CaseIterable {
    /// Each statement is prepared once per connection under a name (`PQsendPrepare`) and then
    /// only bound and executed: the cheapest for the server, but the name lives in the backend
    /// session, which a transaction-mode pooler hands to other clients between transactions.
    case named
    /// Every statement is parsed, bound and executed in one round trip as the unnamed statement
    /// (`PQsendQueryParams`), and no session state is relied on: for PgBouncer in transaction
    /// mode. The server-side timeouts are then not sent as startup `options` (PgBouncer refuses
    /// unknown startup parameters): set them on the database role instead (see README).
    case unnamed
}

/// How to reach PostgreSQL and how many connections to keep.
public struct PostgresConnectionSettings: Sendable {
    /// A libpq connection URI, e.g. `postgresql://user@127.0.0.1:5432/lockcloud`.
    public var url: String
    /// Seconds libpq waits for a new connection before giving up.
    public var connectTimeoutSeconds: Int
    /// Shown in `pg_stat_activity`, so operators can tell LockCloud's sessions apart.
    public var applicationName: String
    /// The server's own bounds, sent as startup options (no extra round trip): a statement
    /// running longer is cancelled (`statement_timeout`), a wait for a row or table lock gives
    /// up (`lock_timeout`), and a session left idle inside a transaction is ended
    /// (`idle_in_transaction_session_timeout`). Nil leaves the server's setting alone.
    public var statementTimeout: Duration?
    public var lockTimeout: Duration?
    public var idleInTransactionTimeout: Duration?
    /// Our own bound on each statement, above `statementTimeout`: the server's timeout cannot
    /// help when the server never hears from us again (a half-open TCP connection). When it
    /// passes, the statement is cancelled with `PQcancel`; nil means no client-side deadline.
    public var queryDeadline: Duration?
    /// How long a cancelled statement may take to answer before its connection is discarded.
    public var cancelGrace: Duration
    /// TCP keepalive probes and `tcp_user_timeout`, so the kernel also notices a dead peer of an
    /// idle connection or of unacknowledged data. Nil leaves the system defaults.
    public var tcpKeepaliveIdleSeconds: Int?
    public var tcpUserTimeout: Duration?
    /// `.unnamed` behind a transaction-mode pooler; see `PreparedStatementMode`.
    public var preparedStatements: PreparedStatementMode

    public init(
        url: String, connectTimeoutSeconds: Int = 3, applicationName: String = "lockcloud",
        statementTimeout: Duration? = .seconds(10), lockTimeout: Duration? = .seconds(5),
        idleInTransactionTimeout: Duration? = .seconds(30), queryDeadline: Duration? = .seconds(12),
        cancelGrace: Duration = .seconds(2), tcpKeepaliveIdleSeconds: Int? = 10, tcpUserTimeout: Duration? = .seconds(15),
        preparedStatements: PreparedStatementMode = .named
    ) {
        self.url = url
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.applicationName = applicationName
        self.statementTimeout = statementTimeout
        self.lockTimeout = lockTimeout
        self.idleInTransactionTimeout = idleInTransactionTimeout
        self.queryDeadline = queryDeadline
        self.cancelGrace = cancelGrace
        self.tcpKeepaliveIdleSeconds = tcpKeepaliveIdleSeconds
        self.tcpUserTimeout = tcpUserTimeout
        self.preparedStatements = preparedStatements
    }

    /// libpq connection keywords and values beyond the URL (which may set its own; these win).
    var connectionParameters: [(String, String)] {
        var parameters = [("connect_timeout", String(connectTimeoutSeconds)), ("application_name", applicationName)]
        var options: [String] = []
        if let statementTimeout { options.append("-c statement_timeout=\(statementTimeout.milliseconds)") }
        if let lockTimeout { options.append("-c lock_timeout=\(lockTimeout.milliseconds)") }
        if let idleInTransactionTimeout {
            options.append("-c idle_in_transaction_session_timeout=\(idleInTransactionTimeout.milliseconds)")
        }
        // A transaction-mode pooler refuses (PgBouncer) or drops startup options.
        if !options.isEmpty && preparedStatements == .named {
            parameters.append(("options", options.joined(separator: " ")))
        }
        if let tcpKeepaliveIdleSeconds {
            parameters += [
                ("keepalives", "1"), ("keepalives_idle", String(tcpKeepaliveIdleSeconds)),
                ("keepalives_interval", String(max(1, tcpKeepaliveIdleSeconds / 3))), ("keepalives_count", "3"),
            ]
        }
        if let tcpUserTimeout { parameters.append(("tcp_user_timeout", String(tcpUserTimeout.milliseconds))) }
        return parameters
    }
}

extension Duration {
    /// Whole milliseconds, at least 1 for any positive duration (0 would mean "no limit" to PostgreSQL).
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        let value = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return self > .zero ? max(1, value) : 0
    }
}

public struct PostgresPoolSettings: Sendable {
    /// Connections, each with its own thread. About 2 per core measured best on 2 cores.
    public var size: Int
    /// How long a caller waits for a free connection before getting `.poolTimeout`.
    public var acquireTimeout: Duration

    public init(size: Int = 4, acquireTimeout: Duration = .seconds(3)) {
        precondition(size > 0, "pool size must be positive")
        self.size = size
        self.acquireTimeout = acquireTimeout
    }
}
