/// How to reach PostgreSQL and how many connections to keep.
public struct PostgresConnectionSettings: Sendable {
    /// A libpq connection URI, e.g. `postgresql://user@127.0.0.1:5432/lockcloud`.
    public var url: String
    /// Seconds libpq waits for a new connection before giving up.
    public var connectTimeoutSeconds: Int
    /// Shown in `pg_stat_activity`, so operators can tell LockCloud's sessions apart.
    public var applicationName: String

    public init(url: String, connectTimeoutSeconds: Int = 3, applicationName: String = "lockcloud") {
        self.url = url
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.applicationName = applicationName
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
