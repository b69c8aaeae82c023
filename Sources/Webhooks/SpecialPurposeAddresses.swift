/// The address ranges no webhook may reach: every entry of the IANA IPv4 and IPv6
/// Special-Purpose Address Registries, with multicast, reserved space and the deprecated IPv6
/// forms. Embedded-IPv4 forms (IPv4-mapped, -translated and -compatible, NAT64, 6to4, Teredo)
/// are refused whole rather than judged by the IPv4 address inside, which a translator or
/// relay would reach on our behalf.
extension WebhookURLPolicy {
    struct AddressRange: Sendable {
        let prefix: [UInt8]
        let length: Int

        /// From CIDR text; the tables below are constants, so a typo is a programming error.
        init(_ cidr: String) {
            let parts = cidr.split(separator: "/")
            guard parts.count == 2, let length = Int(parts[1]), let prefix = WebhookURLPolicy.parseLiteral(String(parts[0])),
                length <= prefix.count * 8
            else { preconditionFailure("bad range \(cidr)") }
            self.prefix = prefix
            self.length = length
        }

        func contains(_ address: [UInt8]) -> Bool {
            guard address.count == prefix.count else { return false }
            let whole = length / 8
            guard address[..<whole] == prefix[..<whole] else { return false }
            let bits = length % 8
            guard bits > 0 else { return true }
            let mask = UInt8(0xff) << (8 - bits)
            return address[whole] & mask == prefix[whole] & mask
        }
    }

    static let refusedIPv4: [AddressRange] = [
        "0.0.0.0/8",  // "this network"
        "10.0.0.0/8",  // private
        "100.64.0.0/10",  // shared address space (carrier-grade NAT)
        "127.0.0.0/8",  // loopback
        "169.254.0.0/16",  // link-local (cloud metadata endpoints live here)
        "172.16.0.0/12",  // private
        "192.0.0.0/24",  // IETF protocol assignments (DS-Lite, PCP and TURN anycast, NAT64 discovery...)
        "192.0.2.0/24",  // documentation (TEST-NET-1)
        "192.31.196.0/24",  // AS112-v4
        "192.52.193.0/24",  // AMT
        "192.88.99.0/24",  // deprecated 6to4 relay anycast
        "192.168.0.0/16",  // private
        "192.175.48.0/24",  // direct delegation AS112 service
        "198.18.0.0/15",  // benchmarking
        "198.51.100.0/24",  // documentation (TEST-NET-2)
        "203.0.113.0/24",  // documentation (TEST-NET-3)
        "224.0.0.0/4",  // multicast
        "240.0.0.0/4",  // reserved, with 255.255.255.255, the limited broadcast
    ].map(AddressRange.init)

    /// Only 2000::/3 is global unicast; every IPv6 address outside it is refused before this
    /// table is looked at. The registry's entries outside 2000::/3 are listed all the same,
    /// so this reads against the registry.
    static let refusedIPv6: [AddressRange] = [
        "::/8",  // ::, ::1, IPv4-compatible ::/96, IPv4-mapped ::ffff:0:0/96, IPv4-translated ::ffff:0:0:0/96
        "64:ff9b::/96",  // IPv4/IPv6 translation (NAT64)
        "64:ff9b:1::/48",  // local-use IPv4/IPv6 translation
        "100::/64",  // discard-only
        "100:0:0:1::/64",  // dummy IPv6 prefix
        "2001::/23",  // IETF protocol assignments (Teredo, benchmarking, AMT, AS112, ORCHIDv2, drone DETs...)
        "2001:db8::/32",  // documentation
        "2002::/16",  // 6to4
        "2620:4f:8000::/48",  // direct delegation AS112 service
        "3fff::/20",  // documentation
        "5f00::/16",  // segment routing (SRv6) SIDs
        "fc00::/7",  // unique-local
        "fe80::/10",  // link-local
        "fec0::/10",  // site-local (deprecated)
        "ff00::/8",  // multicast
    ].map(AddressRange.init)

    /// Whether a webhook may not reach this address (4 or 16 bytes; anything else is refused).
    static func isInternal(_ address: [UInt8]) -> Bool {
        switch address.count {
        case 4: return refusedIPv4.contains { $0.contains(address) }
        case 16: return address[0] & 0xe0 != 0x20 || refusedIPv6.contains { $0.contains(address) }
        default: return true
        }
    }
}
