import Foundation
import HTTPTypes
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The client address of a request, for sign-in throttling. Behind a load balancer every
/// socket peer is the balancer, so counting by peer would let anyone's failures lock everyone
/// out; but `X-Forwarded-For` and `Forwarded` are written by whoever sends the request, so they
/// are believed only when the peer is one of `LOCKCLOUD_TRUSTED_PROXIES`, and then only up to
/// the rightmost hop that is not itself a trusted proxy (everything left of it was written by
/// the client and may be invented).
public struct TrustedProxies: Sendable {
    struct Network: Sendable {
        /// 4 bytes for IPv4, 16 for IPv6.
        let bytes: [UInt8]
        let prefixLength: Int

        func contains(_ address: [UInt8]) -> Bool {
            guard address.count == bytes.count else { return false }
            var remaining = prefixLength
            for index in bytes.indices where remaining > 0 {
                let bits = min(8, remaining)
                let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
                if address[index] & mask != bytes[index] & mask { return false }
                remaining -= bits
            }
            return true
        }
    }

    let networks: [Network]

    public static let none = TrustedProxies(networks: [])

    init(networks: [Network]) {
        self.networks = networks
    }

    /// Comma-separated CIDRs (`10.0.0.0/8, 2001:db8::/32`); an address without a length is
    /// one host. Returns nil for anything else, so a typo stops startup.
    public init?(parsing text: String) {
        var networks: [Network] = []
        for item in text.split(separator: ",") {
            let entry = item.trimmingCharacters(in: .whitespaces)
            guard !entry.isEmpty else { continue }
            let parts = entry.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count <= 2, let bytes = Self.bytes(of: String(parts[0]), mappingIPv4: false) else { return nil }
            let length: Int? = parts.count == 2 ? Int(parts[1]) : bytes.count * 8
            guard let length, (0...(bytes.count * 8)).contains(length) else { return nil }
            networks.append(Network(bytes: bytes, prefixLength: length))
        }
        self.networks = networks
    }

    func isTrusted(_ address: [UInt8]) -> Bool {
        networks.contains { $0.contains(address) }
    }

    /// The address failures are counted by: the peer itself unless it is a trusted proxy;
    /// else the rightmost forwarded hop that is not a trusted proxy. A hop that is not an IP
    /// address (`unknown`, an obfuscated `_name`) ends the walk at the last trusted one seen.
    public func clientAddress(peer: String?, headers: HTTPFields) -> String {
        guard let peer, let peerBytes = Self.bytes(of: peer), isTrusted(peerBytes) else { return peer ?? "unknown" }
        // One header, never both: a proxy writes one and passes the other on from the client
        // as it came. X-Forwarded-For first, since nearly every balancer writes it; a proxy that
        // writes only `Forwarded` must drop a client's X-Forwarded-For (README, Operations).
        let forwardedFor = headers[values: Self.forwardedForName]
        let hops = !forwardedFor.isEmpty
            ? forwardedFor.flatMap { $0.split(separator: ",").map(String.init) }
            : headers[values: Self.forwardedName].flatMap(Self.forValues)
        var client = peer
        for hop in hops.reversed() {
            let address = Self.stripPort(hop.trimmingCharacters(in: .whitespaces))
            guard let bytes = Self.bytes(of: address) else { return client }
            client = address
            if !isTrusted(bytes) { return address }
        }
        return client
    }

    static let forwardedName = HTTPField.Name("Forwarded")!
    static let forwardedForName = HTTPField.Name("X-Forwarded-For")!

    /// The `for=` values of one `Forwarded` field (RFC 7239), in order.
    static func forValues(_ field: String) -> [String] {
        field.split(separator: ",").map { element -> String in
            for pair in element.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces).lowercased() == "for" else { continue }
                var value = parts[1].trimmingCharacters(in: .whitespaces)
                if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
                return value
            }
            return "unknown"  // an element without `for`: not an address
        }
    }

    /// `[2001:db8::1]:4711` → `2001:db8::1`, `192.0.2.7:80` → `192.0.2.7`.
    static func stripPort(_ hop: String) -> String {
        if hop.hasPrefix("["), let end = hop.firstIndex(of: "]") {
            return String(hop[hop.index(after: hop.startIndex)..<end])
        }
        if hop.filter({ $0 == ":" }).count == 1, let colon = hop.firstIndex(of: ":") {
            return String(hop[..<colon])
        }
        return hop
    }

    /// An address's bytes; an IPv4-mapped IPv6 address as its IPv4 bytes (a dual-stack socket
    /// reports IPv4 peers that way), unless `mappingIPv4` is false (a configured network).
    static func bytes(of address: String, mappingIPv4: Bool = true) -> [UInt8]? {
        var v4 = [UInt8](repeating: 0, count: 4)
        if inet_pton(AF_INET, address, &v4) == 1 { return v4 }
        var v6 = [UInt8](repeating: 0, count: 16)
        guard inet_pton(AF_INET6, address, &v6) == 1 else { return nil }
        if mappingIPv4, v6[0..<10].allSatisfy({ $0 == 0 }), v6[10] == 0xFF, v6[11] == 0xFF { return Array(v6[12..<16]) }
        return v6
    }
}
