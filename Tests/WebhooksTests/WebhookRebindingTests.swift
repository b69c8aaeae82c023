import Foundation
import Locks
import Logging
import NIOConcurrencyHelpers
import Postgres
import Testing
@testable import Webhooks

/// DNS rebinding: a name that passes the check and then resolves to an internal address for
/// the connection. The defence is that there is no second lookup: the attempt connects to the
/// addresses the check vetted. The resolver here answers differently after its first call, so
/// any second lookup would show (and would reach the wrong receiver).
@Suite("Webhook destinations: resolved once, connected to as vetted")
struct WebhookRebindingTests {
    /// Answers `first` to the first lookup and `later` to every other; counts lookups.
    final class RebindingDNS: Sendable {
        let lookups = NIOLockedValueBox(0)
        let first: [[UInt8]]
        let later: [[UInt8]]

        init(first: [[UInt8]], later: [[UInt8]]) {
            self.first = first
            self.later = later
        }

        var resolver: WebhookURLPolicy.Resolver {
            { _ in self.lookups.withLockedValue { count in count += 1; return count == 1 ? self.first : self.later } }
        }

        var count: Int { lookups.withLockedValue { $0 } }
    }

    static let publicAddress: [UInt8] = [93, 184, 216, 34]

    @Test("the check resolves once and keeps the answer it checked; a later answer is a later check's")
    func vettedOnce() async throws {
        let dns = RebindingDNS(first: [Self.publicAddress], later: [[127, 0, 0, 1]])
        let policy = WebhookURLPolicy(allowHTTP: false, allowPrivateNetworks: false, resolver: dns.resolver)
        let destination = try await policy.vet(URL(string: "https://hooks.example.test/hook?x=1")!)
        #expect(destination.addresses == [Self.publicAddress] && dns.count == 1)
        #expect(destination.port == 443 && destination.useTLS && destination.requestTarget == "/hook?x=1")
        #expect(destination.hostHeader == "hooks.example.test" && destination.serverName == "hooks.example.test")
        // The next attempt looks the name up again, and this time refuses it.
        await #expect(throws: WebhookURLPolicy.Refusal.self) {
            try await policy.vet(URL(string: "https://hooks.example.test/hook")!)
        }
        #expect(dns.count == 2)
    }

    @Test("every address of an answer is checked: one internal address refuses the name", arguments: [
        [93, 184, 216, 34, 169, 254, 169, 254], [93, 184, 216, 34, 0, 0, 0, 0],
    ] as [[UInt8]])
    func everyAddress(pair: [UInt8]) async throws {
        let dns = RebindingDNS(first: [Array(pair[0..<4]), Array(pair[4..<8])], later: [])
        let policy = WebhookURLPolicy(allowHTTP: false, allowPrivateNetworks: false, resolver: dns.resolver)
        await #expect(throws: WebhookURLPolicy.Refusal.self) { try await policy.vet(URL(string: "https://hooks.example.test/")!) }
        // NAT64 of the metadata address, among public IPv6 answers.
        let nat64: [UInt8] = [0, 0x64, 0xff, 0x9b] + Array(repeating: 0, count: 8) + [169, 254, 169, 254]
        let v6 = RebindingDNS(first: [[0x26, 0x06, 0x47, 0] + Array(repeating: 0, count: 11) + [1], nat64], later: [])
        let policyV6 = WebhookURLPolicy(allowHTTP: false, allowPrivateNetworks: false, resolver: v6.resolver)
        await #expect(throws: WebhookURLPolicy.Refusal.self) { try await policyV6.vet(URL(string: "https://hooks.example.test/")!) }
    }

    @Test("an IP literal is used as is, with no lookup and no SNI")
    func literal() async throws {
        let dns = RebindingDNS(first: [[127, 0, 0, 1]], later: [[127, 0, 0, 1]])
        let policy = WebhookURLPolicy(allowHTTP: true, allowPrivateNetworks: false, resolver: dns.resolver)
        let destination = try await policy.vet(URL(string: "https://[2606:4700:4700::1111]:8443/x")!)
        #expect(destination.addresses == [[0x26, 0x06, 0x47, 0, 0x47, 0] + Array(repeating: 0, count: 8) + [0x11, 0x11]])
        #expect(destination.hostHeader == "[2606:4700:4700::1111]:8443" && destination.serverName == nil && dns.count == 0)
        await #expect(throws: WebhookURLPolicy.Refusal.self) { try await policy.vet(URL(string: "http://[64:ff9b::a9fe:a9fe]/")!) }
    }

    @Test("a delivery connects to the vetted address, never to a second answer, with the URL's name in Host")
    func deliveryGoesWhereTheCheckLooked() async throws {
        let vetted = try await TestReceiver.start(on: "127.0.0.1", port: 0)
        let rebound = try await TestReceiver.start(on: "127.0.0.2", port: vetted.port)
        let dns = RebindingDNS(first: [[127, 0, 0, 1]], later: [[127, 0, 0, 2]])
        // Loopback is allowed here (it is where the test's receivers are); the name is still
        // resolved once and connected to as resolved.
        let policy = WebhookURLPolicy(allowHTTP: true, allowPrivateNetworks: true, resolver: dns.resolver)
        let (deliverer, pool) = try Self.deliverer(policy: policy)
        let outcome = await deliverer.attempt(try Self.claim(url: "http://hooks.example.test:\(vetted.port)/hook?x=1"))
        #expect(outcome == .success(204))
        #expect(vetted.requests == [.init(host: "hooks.example.test:\(vetted.port)", target: "/hook?x=1")])
        #expect(rebound.requests.isEmpty && dns.count == 1)
        await vetted.stop()
        await rebound.stop()
        await pool.shutdown()
    }

    static let sealer = try! KeySealer(base64Key: Data(repeating: 7, count: 32).base64EncodedString())

    /// A pool that is never connected: `attempt` only sends; recording results is tested in pytest.
    static func unusedPool() -> PostgresConnectionPool {
        PostgresConnectionPool(connection: .init(url: "postgresql://127.0.0.1:1/unused"), pool: .init(size: 1), logger: Logger(label: "test"))
    }

    /// The production deliverer, with the test's policy (its resolver).
    static func deliverer(policy: WebhookURLPolicy) throws -> (WebhookDeliverer, PostgresConnectionPool) {
        let pool = unusedPool()
        let deliverer = try WebhookDeliverer(
            queue: DeliveryQueue(database: pool), sealer: sealer, policy: policy, settings: DeliverySettings(timeoutSeconds: 5),
            logger: Logger(label: "test"))
        return (deliverer, pool)
    }

    static func claim(url: String) throws -> DeliveryQueue.Claim {
        let webhookID = UUID()
        let sealed = try sealer.seal(Array(WebhookSignature.newSecret().utf8), boundTo: WebhookStore.secretContext(webhookID))
        return DeliveryQueue.Claim(
            deliveryID: UUID(), webhookID: webhookID, attempt: 1, url: url, secretSealed: sealed, previousSecretSealed: nil,
            eventID: UUID(), payload: "{}", occurredAt: Date())
    }
}
