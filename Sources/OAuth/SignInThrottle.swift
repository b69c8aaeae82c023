import Postgres
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Slows down password guessing without handing strangers a way to lock owners out (OWASP's
/// authentication guidance). Three counts, each over a sliding window:
/// - per (account, client address), 5 failures in 15 minutes: that pair is refused until the
///   window has passed. A stranger's wrong passwords block the stranger, not the owner typing
///   from elsewhere;
/// - per client address, 20 failures in 15 minutes, whatever the accounts: one address
///   spraying many accounts;
/// - per account, 100 failures in 24 hours from all addresses together: a guesser spread over
///   many addresses. This one can be reached by someone else; it takes 20 /64s or IPv4
///   addresses at once, or one address for 5 hours, and it lasts until the oldest failures
///   are a day old.
/// Failures are counted for unknown emails too, so the answer never reveals whether an account
/// exists. Counting in PostgreSQL keeps the limits right across any number of server instances.
///
/// Addresses are counted by network, not by exact address (`addressKey`): one IPv6 host is
/// given a whole /64 and can pick a fresh address per guess, so an IPv6 client counts as its
/// /64; an IPv4 client as its address (/32), an IPv4-mapped IPv6 address as the IPv4 one. The
/// address is the client's as resolved through trusted proxies (the App's TrustedProxies).
public struct SignInThrottle: Sendable {
    public static let window = 15 * 60
    public static let maxFailuresPerPair = 5
    public static let maxFailuresPerAddress = 20
    public static let accountWindow = 24 * 3600
    public static let maxFailuresPerAccount = 100

    let database: PostgresConnectionPool

    public init(database: PostgresConnectionPool) {
        self.database = database
    }

    /// The subjects one attempt is counted under: account, address, and the pair of both.
    static func subjects(email: String, address: String) -> (account: String, address: String, pair: String) {
        let account = "email:" + OwnerStore.normalize(email: email)
        let address = addressKey(address)
        return (account, address, "pair:" + address + " " + account)
    }

    public func isBlocked(email: String, address: String) async throws -> Bool {
        let subjects = Self.subjects(email: email, address: address)
        let row = try await database.query(
            """
            SELECT count(*) FILTER (WHERE subject = $1 AND failed_at > now() - make_interval(secs => $4)),
                   count(*) FILTER (WHERE subject = $2 AND failed_at > now() - make_interval(secs => $4)),
                   count(*) FILTER (WHERE subject = $3)
            FROM sign_in_failures
            WHERE subject IN ($1, $2, $3) AND failed_at > now() - make_interval(secs => $5)
            """,
            [subjects.pair, subjects.address, subjects.account, Self.window, Self.accountWindow]
        ).firstRow()
        return try row.decode(Int.self, at: 0) >= Self.maxFailuresPerPair
            || row.decode(Int.self, at: 1) >= Self.maxFailuresPerAddress
            || row.decode(Int.self, at: 2) >= Self.maxFailuresPerAccount
    }

    public func recordFailure(email: String, address: String) async throws {
        let subjects = Self.subjects(email: email, address: address)
        try await database.transaction { connection in
            for subject in [subjects.account, subjects.address, subjects.pair] {
                try connection.query("INSERT INTO sign_in_failures (subject) VALUES ($1)", [subject])
                // Rows older than the longest window count for nothing; trim them where we write.
                try connection.query(
                    "DELETE FROM sign_in_failures WHERE subject = $1 AND failed_at < now() - make_interval(secs => $2)",
                    [subject, Self.accountWindow])
            }
        }
    }

    /// The subject an address's failures are counted under: `address:192.0.2.7` for IPv4,
    /// `address:2001:db8:1:2::/64` for IPv6. Text that is not an IP address counts as itself.
    public static func addressKey(_ address: String) -> String {
        // Plain byte buffers, not in_addr/in6_addr: those types come from whichever C module
        // first included <netinet/in.h> (NIO's shim), which MemberImportVisibility refuses.
        var v4 = [UInt8](repeating: 0, count: 4)
        if inet_pton(AF_INET, address, &v4) == 1 { return "address:" + address }
        var bytes = [UInt8](repeating: 0, count: 16)
        guard inet_pton(AF_INET6, address, &bytes) == 1 else { return "address:" + address }
        // ::ffff:a.b.c.d is an IPv4 client seen through a dual-stack socket.
        if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff {
            return "address:" + bytes[12..<16].map(String.init).joined(separator: ".")
        }
        let groups = stride(from: 0, to: 8, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
        return "address:" + groups.joined(separator: ":") + "::/64"
    }
}
