import Postgres
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Slows down password guessing: after too many failures in the window for one account or one
/// client address, sign-in is refused until the window has passed. Failures are counted for
/// unknown emails too, so the answer never reveals whether an account exists. Counting in
/// PostgreSQL keeps the limit right across any number of server instances.
///
/// Addresses are counted by network, not by exact address (`addressKey`): one IPv6 host is
/// given a whole /64 and can pick a fresh address per guess, so an IPv6 client counts as its
/// /64; an IPv4 client as its address (/32), an IPv4-mapped IPv6 address as the IPv4 one.
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
            ["email:" + OwnerStore.normalize(email: email), Self.addressKey(address), Self.window]
        ).firstRow()
        return try row.decode(Int.self, at: 0) >= Self.maxFailuresPerAccount
            || row.decode(Int.self, at: 1) >= Self.maxFailuresPerAddress
    }

    public func recordFailure(email: String, address: String) async throws {
        try await database.transaction { connection in
            for subject in ["email:" + OwnerStore.normalize(email: email), Self.addressKey(address)] {
                try connection.query("INSERT INTO sign_in_failures (subject) VALUES ($1)", [subject])
                // Old rows are only clutter; trim them where we write.
                try connection.query(
                    "DELETE FROM sign_in_failures WHERE subject = $1 AND failed_at < now() - interval '1 day'", [subject])
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
