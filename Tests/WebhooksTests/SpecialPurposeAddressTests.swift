import Foundation
import Testing
@testable import Webhooks
#if canImport(Glibc)
import Glibc
#endif

/// Every range of the IANA IPv4 and IPv6 Special-Purpose Address Registries, plus multicast,
/// reserved and the deprecated IPv6 forms, is refused as a webhook destination. The addresses
/// are written out here (the first and last of each range, and addresses that embed a public
/// or an internal IPv4), not derived from the table the policy uses, so a wrong table fails.
@Suite("Webhook destinations: special-purpose addresses")
struct SpecialPurposeAddressTests {
    /// An address literal as bytes (4 or 16), parsed by the C library rather than our code.
    static func bytes(_ text: String) throws -> [UInt8] {
        var v4 = [UInt8](repeating: 0, count: 4)
        if inet_pton(AF_INET, text, &v4) == 1 { return v4 }
        var v6 = [UInt8](repeating: 0, count: 16)
        guard inet_pton(AF_INET6, text, &v6) == 1 else { throw CocoaError(.formatting) }
        return v6
    }

    @Test("IPv4 special-purpose ranges, multicast, reserved and broadcast are refused", arguments: [
        ("0.0.0.0/8 this network", ["0.0.0.0", "0.255.255.255"]),
        ("10.0.0.0/8 private", ["10.0.0.0", "10.255.255.255"]),
        ("100.64.0.0/10 shared address space", ["100.64.0.0", "100.127.255.255"]),
        ("127.0.0.0/8 loopback", ["127.0.0.0", "127.0.0.1", "127.255.255.255"]),
        ("169.254.0.0/16 link-local", ["169.254.0.0", "169.254.169.254", "169.254.255.255"]),
        ("172.16.0.0/12 private", ["172.16.0.0", "172.31.255.255"]),
        ("192.0.0.0/24 IETF protocol assignments", ["192.0.0.0", "192.0.0.9", "192.0.0.10", "192.0.0.170", "192.0.0.255"]),
        ("192.0.2.0/24 documentation (TEST-NET-1)", ["192.0.2.0", "192.0.2.255"]),
        ("192.31.196.0/24 AS112-v4", ["192.31.196.0", "192.31.196.255"]),
        ("192.52.193.0/24 AMT", ["192.52.193.0", "192.52.193.255"]),
        ("192.88.99.0/24 deprecated 6to4 relay anycast", ["192.88.99.0", "192.88.99.255"]),
        ("192.168.0.0/16 private", ["192.168.0.0", "192.168.255.255"]),
        ("192.175.48.0/24 direct delegation AS112 service", ["192.175.48.0", "192.175.48.255"]),
        ("198.18.0.0/15 benchmarking", ["198.18.0.0", "198.19.255.255"]),
        ("198.51.100.0/24 documentation (TEST-NET-2)", ["198.51.100.0", "198.51.100.255"]),
        ("203.0.113.0/24 documentation (TEST-NET-3)", ["203.0.113.0", "203.0.113.255"]),
        ("224.0.0.0/4 multicast", ["224.0.0.0", "239.255.255.255"]),
        ("240.0.0.0/4 reserved", ["240.0.0.0", "255.255.255.254"]),
        ("255.255.255.255/32 limited broadcast", ["255.255.255.255"]),
    ])
    func ipv4(range: String, addresses: [String]) throws {
        for address in addresses {
            #expect(WebhookURLPolicy.isInternal(try Self.bytes(address)), "\(address) in \(range)")
        }
    }

    @Test("IPv6 special-purpose ranges, embedded-IPv4 forms, site-local and multicast are refused", arguments: [
        ("::/128 unspecified", ["::"]),
        ("::1/128 loopback", ["::1"]),
        ("::ffff:0:0/96 IPv4-mapped", ["::ffff:8.8.8.8", "::ffff:127.0.0.1", "::ffff:169.254.169.254"]),
        ("::ffff:0:0:0/96 IPv4-translated", ["::ffff:0:8.8.8.8", "::ffff:0:169.254.169.254"]),
        ("::/96 IPv4-compatible (deprecated)", ["::8.8.8.8", "::127.0.0.1", "::169.254.169.254"]),
        ("64:ff9b::/96 IPv4/IPv6 translation (NAT64)", ["64:ff9b::8.8.8.8", "64:ff9b::169.254.169.254", "64:ff9b::a00:1"]),
        ("64:ff9b:1::/48 local-use IPv4/IPv6 translation", ["64:ff9b:1::", "64:ff9b:1::a9fe:a9fe", "64:ff9b:1:ffff:ffff:ffff:ffff:ffff"]),
        ("100::/64 discard-only", ["100::", "100::ffff:ffff:ffff:ffff"]),
        ("100:0:0:1::/64 dummy IPv6 prefix", ["100:0:0:1::", "100:0:0:1:ffff:ffff:ffff:ffff"]),
        ("2001::/23 IETF protocol assignments", [
            "2001::", "2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001:1::1", "2001:2::1", "2001:3::1", "2001:4:112::1",
            "2001:20::1", "2001:30::1", "2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff",
        ]),
        ("2001:db8::/32 documentation", ["2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"]),
        ("2002::/16 6to4", ["2002::", "2002:a9fe:a9fe::1", "2002:808:808::1", "2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff"]),
        ("2620:4f:8000::/48 direct delegation AS112 service", ["2620:4f:8000::", "2620:4f:8000:ffff:ffff:ffff:ffff:ffff"]),
        ("3fff::/20 documentation", ["3fff::", "3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff"]),
        ("5f00::/16 segment routing (SRv6) SIDs", ["5f00::", "5f00:ffff:ffff:ffff:ffff:ffff:ffff:ffff"]),
        ("fc00::/7 unique-local", ["fc00::", "fd00::1", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"]),
        ("fe80::/10 link-local", ["fe80::", "fe80::1", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff"]),
        ("fec0::/10 site-local (deprecated)", ["fec0::", "fec0::1", "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"]),
        ("ff00::/8 multicast", ["ff00::", "ff02::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"]),
        ("outside 2000::/3, the only global unicast space", ["1::1", "4000::1", "8000::1", "e000::1"]),
    ])
    func ipv6(range: String, addresses: [String]) throws {
        for address in addresses {
            #expect(WebhookURLPolicy.isInternal(try Self.bytes(address)), "\(address) in \(range)")
        }
    }

    @Test("public unicast addresses, including those just outside a refused range, are allowed", arguments: [
        "8.8.8.8", "1.1.1.1", "93.184.216.34", "9.255.255.255", "11.0.0.0", "100.63.255.255", "100.128.0.0",
        "126.255.255.255", "128.0.0.0", "169.253.255.255", "169.255.0.0", "172.15.255.255", "172.32.0.0",
        "192.0.1.0", "192.0.3.0", "192.31.195.255", "192.52.194.0", "192.88.98.255", "192.167.255.255",
        "192.169.0.0", "192.175.49.0", "198.17.255.255", "198.20.0.0", "198.51.99.255", "203.0.112.255",
        "223.255.255.255",
        "2001:200::1", "2001:4860:4860::8888", "2001:db7:ffff::1", "2001:db9::1", "2003::1", "2606:4700:4700::1111",
        "2620:4f:7fff:ffff::1", "2620:4f:8001::1", "2a00:1450:4001::1", "3ffe::1", "3fff:1000::1",
    ])
    func publicAddresses(address: String) throws {
        #expect(!WebhookURLPolicy.isInternal(try Self.bytes(address)), "\(address)")
    }
}
