@testable import App
import HTTPTypes
import Testing

/// Which address sign-in throttling counts: forwarded headers only from trusted proxies, and
/// then the rightmost hop that is not one of them (the client can write anything to its left).
@Suite struct TrustedProxiesTests {
    let proxies = TrustedProxies(parsing: "10.0.0.0/8, 2001:db8:aa::/48, 192.0.2.1")!

    func headers(_ fields: [(String, String)]) -> HTTPFields {
        var headers = HTTPFields()
        for (name, value) in fields { headers.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        return headers
    }

    @Test("settings: CIDRs and single hosts parse, anything else is refused")
    func parsing() {
        #expect(TrustedProxies(parsing: "")?.networks.isEmpty == true)
        #expect(proxies.networks.count == 3)
        #expect(TrustedProxies(parsing: "10.0.0.0/33") == nil)
        #expect(TrustedProxies(parsing: "::/129") == nil)
        #expect(TrustedProxies(parsing: "example.com") == nil)
        #expect(TrustedProxies(parsing: "10.0.0.0/8/1") == nil)
    }

    @Test("an untrusted peer's forwarded headers are ignored")
    func untrustedPeer() {
        let forged = headers([("X-Forwarded-For", "198.51.100.9"), ("Forwarded", "for=198.51.100.10")])
        #expect(proxies.clientAddress(peer: "203.0.113.5", headers: forged) == "203.0.113.5")
        #expect(TrustedProxies.none.clientAddress(peer: "10.1.2.3", headers: forged) == "10.1.2.3")
    }

    @Test("X-Forwarded-For: the rightmost untrusted hop, whatever the client wrote before it")
    func forwardedFor() {
        let chain = headers([("X-Forwarded-For", "1.1.1.1, 198.51.100.9"), ("X-Forwarded-For", "10.9.9.9")])
        #expect(proxies.clientAddress(peer: "10.0.0.1", headers: chain) == "198.51.100.9")
        #expect(proxies.clientAddress(peer: "::ffff:10.0.0.1", headers: chain) == "198.51.100.9")
        #expect(proxies.clientAddress(peer: "10.0.0.1", headers: headers([])) == "10.0.0.1")
        // Every hop trusted: the leftmost one is the client.
        #expect(proxies.clientAddress(peer: "10.0.0.1", headers: headers([("X-Forwarded-For", "10.2.2.2")])) == "10.2.2.2")
        // Not an address: stop at the last trusted hop rather than count by invented text.
        #expect(proxies.clientAddress(peer: "10.0.0.1", headers: headers([("X-Forwarded-For", "junk")])) == "10.0.0.1")
    }

    @Test("Forwarded (RFC 7239): quoted IPv6 with port, IPv4 with port, obfuscated names")
    func forwarded() {
        let chain = headers([("Forwarded", #"for="[2001:db8:cafe::17]:4711";proto=https, for=192.0.2.1:80"#)])
        #expect(proxies.clientAddress(peer: "2001:db8:aa::1", headers: chain) == "2001:db8:cafe::17")
        #expect(proxies.clientAddress(peer: "10.0.0.1", headers: headers([("Forwarded", "for=_hidden")])) == "10.0.0.1")
        // Both headers: X-Forwarded-For, which the balancer wrote; the other is the client's.
        let both = headers([("Forwarded", "for=203.0.113.1"), ("X-Forwarded-For", "198.51.100.9")])
        #expect(proxies.clientAddress(peer: "10.0.0.1", headers: both) == "198.51.100.9")
    }
}
