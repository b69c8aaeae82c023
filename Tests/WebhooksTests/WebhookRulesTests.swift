import Foundation
import Testing
@testable import Webhooks

@Suite("Webhook rules: destinations, signatures, backoff")
struct WebhookRulesTests {
    @Test("internal addresses are recognized, IPv4 and IPv6", arguments: [
        ("127.0.0.1", true), ("10.0.0.1", true), ("172.16.5.4", true), ("172.32.0.1", false), ("192.168.1.1", true),
        ("169.254.169.254", true), ("100.64.0.1", true), ("0.0.0.0", true), ("224.0.0.1", true), ("8.8.8.8", false),
        ("93.184.216.34", false), ("::1", true), ("::", true), ("fd00::1", true), ("fe80::1", true),
        // IPv4-mapped forms are refused whole, a public IPv4 inside included (see SpecialPurposeAddressTests).
        ("::ffff:10.0.0.1", true), ("::ffff:8.8.8.8", true), ("2001:4860:4860::8888", false),
    ])
    func addresses(address: String, isInternal: Bool) throws {
        let resolved = try WebhookURLPolicy.resolve(address)
        #expect(!resolved.isEmpty)
        #expect(resolved.allSatisfy { WebhookURLPolicy.isInternal($0) == isInternal }, "\(address)")
    }

    @Test("URL form: https only unless http is allowed, no credentials, no fragment")
    func urls() async throws {
        let strict = WebhookURLPolicy(allowHTTP: false, allowPrivateNetworks: false)
        #expect(throws: WebhookURLPolicy.Refusal.self) { try strict.validate("http://93.184.216.34/") }
        #expect(throws: WebhookURLPolicy.Refusal.self) { try strict.validate("https://a:b@93.184.216.34/") }
        #expect(throws: WebhookURLPolicy.Refusal.self) { try strict.validate("https://93.184.216.34/#x") }
        #expect(throws: WebhookURLPolicy.Refusal.self) { try strict.validate("/relative") }
        await #expect(throws: WebhookURLPolicy.Refusal.self) { try await strict.checkDestination(URL(string: "https://127.0.0.1/")!) }
        #expect(try strict.validate("https://93.184.216.34/hook?x=1").absoluteString == "https://93.184.216.34/hook?x=1")
        let development = WebhookURLPolicy(allowHTTP: true, allowPrivateNetworks: true)
        _ = try development.validate("http://127.0.0.1:9000/hook")
        try await development.checkDestination(URL(string: "http://127.0.0.1:9000/hook")!)
    }

    @Test("signatures: one v1 entry per key, over id.timestamp.body")
    func signatures() throws {
        let secret = WebhookSignature.newSecret()
        let key = try #require(WebhookSignature.key(of: secret))
        #expect(key.count == 32 && secret.hasPrefix("whsec_"))
        #expect(WebhookSignature.key(of: "nope") == nil)
        let one = WebhookSignature.header(id: "msg_1", timestamp: 1_700_000_000, body: Array("{}".utf8), keys: [key])
        let two = WebhookSignature.header(id: "msg_1", timestamp: 1_700_000_000, body: Array("{}".utf8), keys: [key, Array(repeating: 1, count: 32)])
        #expect(one.hasPrefix("v1,") && !one.contains(" "))
        #expect(two.hasPrefix(one + " v1,"))
        #expect(WebhookSignature.header(id: "msg_1", timestamp: 1_700_000_001, body: Array("{}".utf8), keys: [key]) != one)
    }

    @Test("backoff doubles from the base up to the cap, with jitter of at most 20 %")
    func backoff() {
        let settings = DeliverySettings(retryBaseSeconds: 5, retryMaxDelaySeconds: 3600)
        for attempt in 1...20 {
            let expected = min(5 * pow(2, Double(attempt - 1)), 3600)
            for _ in 0..<50 {
                let delay = settings.delay(afterAttempt: attempt)
                #expect(delay >= expected * 0.8 && delay <= expected * 1.2)
            }
        }
        // Over a 24-hour window with these defaults, about 30 attempts are made.
        var elapsed = 0.0
        var attempts = 0
        while elapsed < 86_400 {
            attempts += 1
            elapsed += min(5 * pow(2, Double(attempts - 1)), 3600)
        }
        #expect((25...35).contains(attempts))
    }
}
