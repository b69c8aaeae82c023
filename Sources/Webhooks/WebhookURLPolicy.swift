import Foundation
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// Which webhook destinations are allowed. Against request forgery: `https` only (plain `http`
/// only when configured, as in development), no credentials in the URL, and no destination in
/// a special-purpose, private, multicast or reserved range unless configured (the `make run`
/// demo allows loopback). Checked at registration and again before each attempt, because a
/// name can resolve elsewhere later; each attempt then connects to exactly the addresses it
/// checked (`Destination`), never resolving the name a second time (DNS rebinding).
public struct WebhookURLPolicy: Sendable {
    /// Looks a host name up: every address, IPv4 as 4 bytes and IPv6 as 16. Injectable so
    /// tests can answer differently on each call and count the calls.
    public typealias Resolver = @Sendable (String) async throws -> [[UInt8]]

    public var allowHTTP: Bool
    public var allowPrivateNetworks: Bool
    let resolver: Resolver

    public init(allowHTTP: Bool, allowPrivateNetworks: Bool) {
        self.init(allowHTTP: allowHTTP, allowPrivateNetworks: allowPrivateNetworks, resolver: Self.systemResolver)
    }

    init(allowHTTP: Bool, allowPrivateNetworks: Bool, resolver: @escaping Resolver) {
        self.allowHTTP = allowHTTP
        self.allowPrivateNetworks = allowPrivateNetworks
        self.resolver = resolver
    }

    public enum Refusal: Error, Equatable, CustomStringConvertible {
        case invalid(String)
        case forbiddenDestination(String)

        public var description: String {
            switch self {
            case .invalid(let why), .forbiddenDestination(let why): return why
            }
        }
    }

    /// A vetted destination: the URL's name (for `Host` and TLS SNI) and the addresses it
    /// resolved to, every one of them checked. A connection goes to one of these addresses.
    public struct Destination: Sendable, Equatable {
        /// The host as the URL names it, without an IPv6 literal's brackets.
        public let host: String
        public let port: Int
        public let useTLS: Bool
        public let addresses: [[UInt8]]
        /// The path and query, as sent in the request line.
        public let requestTarget: String
        /// The host literal is an IP address: no SNI (it carries names only).
        let hostIsAddress: Bool

        var hostHeader: String {
            let name = host.contains(":") ? "[\(host)]" : host
            return port == (useTLS ? 443 : 80) ? name : "\(name):\(port)"
        }

        var serverName: String? { hostIsAddress ? nil : host }
    }

    /// The URL's form; no network involved.
    public func validate(_ text: String) throws -> URL {
        guard text.count <= 2000, let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            let host = components.host, !host.isEmpty, let url = components.url
        else { throw Refusal.invalid("url must be an absolute https URL of at most 2000 characters.") }
        guard scheme == "https" || (scheme == "http" && allowHTTP) else {
            throw Refusal.invalid(allowHTTP ? "url must use https or http." : "url must use https.")
        }
        guard components.user == nil, components.password == nil else {
            throw Refusal.invalid("url must not carry credentials; use the webhook's signing secret to authenticate LockCloud.")
        }
        guard components.fragment == nil else { throw Refusal.invalid("url must not have a fragment.") }
        return url
    }

    /// Resolves the host once and refuses it when any of its addresses is internal (unless
    /// allowed). Even when internal addresses are allowed the name is resolved here, so the
    /// connection never depends on a second lookup.
    public func vet(_ url: URL) async throws -> Destination {
        guard let components = URLComponents(url: url, resolvingAgainstBaseURL: false), let scheme = components.scheme?.lowercased(),
            scheme == "https" || scheme == "http", let rawHost = components.host, !rawHost.isEmpty
        else { throw Refusal.invalid("url has no host.") }
        let host = rawHost.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        let literal = Self.parseLiteral(host)
        let addresses: [[UInt8]]
        if let literal { addresses = [literal] } else { addresses = try await resolver(host) }
        guard !addresses.isEmpty else { throw Refusal.forbiddenDestination("\(host) does not resolve.") }
        if !allowPrivateNetworks, let inside = addresses.first(where: Self.isInternal) {
            throw Refusal.forbiddenDestination(
                "\(host) resolves to \(Self.text(inside)), a special-purpose, private, multicast or reserved address.")
        }
        let useTLS = scheme == "https"
        var target = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        if let query = components.percentEncodedQuery { target += "?" + query }
        return Destination(
            host: host, port: components.port ?? (useTLS ? 443 : 80), useTLS: useTLS, addresses: addresses,
            requestTarget: target, hostIsAddress: literal != nil)
    }

    /// Registration's check: an attempt's, without keeping the answer. With internal networks
    /// allowed there is nothing to refuse, so nothing is looked up (as before).
    public func checkDestination(_ url: URL) async throws {
        guard !allowPrivateNetworks else { return }
        _ = try await vet(url)
    }

    /// getaddrinfo blocks (it can wait seconds on DNS), so it runs on NIO's blocking thread
    /// pool, never on Swift's cooperative threads.
    public static let systemResolver: Resolver = { host in
        try await NIOThreadPool.singleton.runIfActive { try WebhookURLPolicy.resolve(host) }
    }

    /// IPv4 addresses as 4 bytes, IPv6 as 16.
    static func resolve(_ host: String) throws -> [[UInt8]] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else {
            throw Refusal.forbiddenDestination("\(host) does not resolve.")
        }
        defer { freeaddrinfo(first) }
        var addresses: [[UInt8]] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            if let address = numericAddress(entry.pointee) { addresses.append(address) }
            cursor = entry.pointee.ai_next
        }
        return addresses.reduce(into: []) { unique, address in if !unique.contains(address) { unique.append(address) } }
    }

    /// One getaddrinfo answer as bytes. The address is printed with getnameinfo and read back
    /// with inet_pton rather than taken from `sockaddr_in6.sin6_addr`: on a clean build that
    /// member is only visible through NIO's C shim module (MemberImportVisibility), and this way
    /// no struct layout is assumed. A scope suffix (`fe80::1%eth0`) is dropped.
    private static func numericAddress(_ entry: addrinfo) -> [UInt8]? {
        guard entry.ai_family == AF_INET || entry.ai_family == AF_INET6, let raw = entry.ai_addr else { return nil }
        var text = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        guard getnameinfo(raw, entry.ai_addrlen, &text, socklen_t(text.count), nil, 0, NI_NUMERICHOST) == 0 else {
            return nil
        }
        let printed = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return parseLiteral(String(printed.prefix { $0 != "%" }))
    }

    /// A strict IPv4 dotted quad or IPv6 literal (inet_pton), else nil: a name to resolve.
    /// inet_pton writes into plain byte buffers: `in_addr`/`in6_addr` are only visible through
    /// NIO's C shim module on a clean build (MemberImportVisibility).
    static func parseLiteral(_ host: String) -> [UInt8]? {
        var v4 = [UInt8](repeating: 0, count: 4)
        if inet_pton(AF_INET, host, &v4) == 1 { return v4 }
        var v6 = [UInt8](repeating: 0, count: 16)
        if inet_pton(AF_INET6, host, &v6) == 1 { return v6 }
        return nil
    }

    static func text(_ address: [UInt8]) -> String {
        address.count == 4
            ? address.map(String.init).joined(separator: ".")
            : stride(from: 0, to: 16, by: 2).map { String(UInt16(address[$0]) << 8 | UInt16(address[$0 + 1]), radix: 16) }
                .joined(separator: ":")
    }
}
