import Foundation
import Logging
import NIOSSL
import Postgres
import Testing
@testable import Webhooks

/// https to a vetted address: the connection goes to the address the check resolved, while the
/// URL's name is what TLS sends as SNI and what the certificate must name.
@Suite("Webhook destinations: https to the vetted address")
struct WebhookTLSDestinationTests {
    @Test("https to the vetted address keeps the name for SNI, the certificate check and Host")
    func tlsKeepsTheName() async throws {
        let certificate = try NIOSSLCertificate(bytes: Array(TestCertificate.certificate.utf8), format: .pem)
        let key = try NIOSSLPrivateKey(bytes: Array(TestCertificate.key.utf8), format: .pem)
        let vetted = try await TestReceiver.start(on: "127.0.0.1", port: 0, tls: (certificate: certificate, key: key))
        let dns = WebhookRebindingTests.RebindingDNS(first: [[127, 0, 0, 1]], later: [[127, 0, 0, 2]])
        let policy = WebhookURLPolicy(allowHTTP: false, allowPrivateNetworks: true, resolver: dns.resolver)
        let (deliverer, pool) = try Self.deliverer(policy: policy, trusting: certificate)
        let outcome = await deliverer.attempt(try WebhookRebindingTests.claim(url: "https://hooks.example.test:\(vetted.port)/hook"))
        #expect(outcome == .success(204))
        #expect(vetted.serverNames == ["hooks.example.test"] && dns.count == 1)
        #expect(vetted.requests == [.init(host: "hooks.example.test:\(vetted.port)", target: "/hook")])
        // A name the certificate does not carry fails the check (the name, not the address, is verified).
        let other = WebhookURLPolicy(allowHTTP: false, allowPrivateNetworks: true, resolver: { _ in [[127, 0, 0, 1]] })
        let (strict, otherPool) = try Self.deliverer(policy: other, trusting: certificate)
        let refused = await strict.attempt(try WebhookRebindingTests.claim(url: "https://elsewhere.example.test:\(vetted.port)/hook"))
        if case .unreachable = refused {} else { Issue.record("a certificate for another name was accepted: \(refused)") }
        await vetted.stop()
        await pool.shutdown()
        await otherPool.shutdown()
    }

    /// The production deliverer, except that its TLS trusts the test's own certificate.
    static func deliverer(policy: WebhookURLPolicy, trusting certificate: NIOSSLCertificate) throws -> (WebhookDeliverer, PostgresConnectionPool) {
        let pool = WebhookRebindingTests.unusedPool()
        let deliverer = WebhookDeliverer(
            queue: DeliveryQueue(database: pool), sealer: WebhookRebindingTests.sealer, policy: policy,
            settings: DeliverySettings(timeoutSeconds: 5), sender: try WebhookSender(trustRoots: .certificates([certificate])),
            logger: Logger(label: "test"))
        return (deliverer, pool)
    }
}
