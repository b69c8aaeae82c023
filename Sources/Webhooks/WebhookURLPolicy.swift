import Foundation
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// Which webhook destinations are allowed. Against request forgery: `https` only (plain `http`
/// only when configured, as in development), no credentials in the URL, and no destination in
/// a special-purpose, private, multicast or reserved range (SpecialPurposeAddresses.swift)
/// unless configured (the `make run` demo allows loopback). Checked at registration and again before each attempt,
/// because a name can resolve elsewhere later.
public struct WebhookURLPolicy: Sendable {
    public var allowHTTP: Bool
    public var allowPrivateNetworks: Bool

    public init(allowHTTP: Bool, allowPrivateNetworks: Bool) {
        self.allowHTTP = allowHTTP
        self.allowPrivateNetworks = allowPrivateNetworks
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

    /// Resolves the host and refuses it when any of its addresses is internal (unless allowed).
    /// The lookup blocks (getaddrinfo can wait seconds on DNS), so it runs on NIO's blocking
    /// thread pool, never on Swift's cooperative threads.
    public func checkDestination(_ url: URL) async throws {
        guard !allowPrivateNetworks else { return }
        guard let host = url.host else { throw Refusal.invalid("url has no host.") }
        let name = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        let addresses = try await NIOThreadPool.singleton.runIfActive { try Self.resolve(name) }
        guard !addresses.isEmpty else { throw Refusal.forbiddenDestination("\(host) does not resolve.") }
        if let inside = addresses.first(where: Self.isInternal) {
            throw Refusal.forbiddenDestination("\(host) resolves to \(Self.text(inside)), an internal address.")
        }
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
            if entry.pointee.ai_family == AF_INET, let raw = entry.pointee.ai_addr {
                raw.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address in
                    addresses.append(withUnsafeBytes(of: address.pointee.sin_addr) { Array($0) })
                }
            } else if entry.pointee.ai_family == AF_INET6, let raw = entry.pointee.ai_addr {
                raw.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address in
                    addresses.append(withUnsafeBytes(of: address.pointee.sin6_addr) { Array($0) })
                }
            }
            cursor = entry.pointee.ai_next
        }
        return addresses
    }

    /// A strict IPv4 dotted quad or IPv6 literal (inet_pton), else nil.
    static func parseLiteral(_ host: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }

    static func text(_ address: [UInt8]) -> String {
        address.count == 4
            ? address.map(String.init).joined(separator: ".")
            : stride(from: 0, to: 16, by: 2).map { String(UInt16(address[$0]) << 8 | UInt16(address[$0 + 1]), radix: 16) }
                .joined(separator: ":")
    }
}
