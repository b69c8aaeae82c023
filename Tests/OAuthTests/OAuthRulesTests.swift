@testable import OAuth
import Testing

@Suite("OAuth rules without a database")
struct OAuthRulesTests {
    @Test("PKCE S256 matches RFC 7636 appendix B")
    func pkceVector() {
        #expect(SecretToken.pkceChallenge(verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
            == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
    }

    @Test("code verifiers follow RFC 7636 section 4.1")
    func verifierGrammar() {
        #expect(TokenService.isValidVerifier(String(repeating: "a", count: 43)))
        #expect(TokenService.isValidVerifier(String(repeating: "A-._~9", count: 21)))
        #expect(!TokenService.isValidVerifier(String(repeating: "a", count: 42)))
        #expect(!TokenService.isValidVerifier(String(repeating: "a", count: 129)))
        #expect(!TokenService.isValidVerifier(String(repeating: "a", count: 42) + "+"))
    }

    @Test("scopes parse strictly and format canonically")
    func scopes() {
        #expect(Scope.parse(nil) == Scope.all)
        #expect(Scope.parse("locks.write  locks.read") == Scope.all)
        #expect(Scope.parse("locks.read") == [.locksRead])
        #expect(Scope.parse("locks.read admin") == nil)
        #expect(Scope.format([.locksWrite, .locksRead]) == "locks.read locks.write")
    }

    @Test("redirect URIs: https anywhere, http only on loopback, never fragments or credentials",
          arguments: [
            ("https://connect.getseam.com/oauth/callback", true),
            ("http://localhost:3020/oauth/callback", true),
            ("http://127.0.0.1:9000/cb", true),
            ("http://example.com/cb", false),
            ("https://example.com/cb#frag", false),
            ("https://user:pw@example.com/cb", false),
            ("javascript:alert(1)", false),
            ("/relative", false),
          ])
    func redirectURIs(uri: String, accepted: Bool) {
        #expect(ClientStore.isAcceptableRedirect(uri) == accepted)
    }

    @Test("generated secrets are distinct, prefixed and 256-bit")
    func secrets() {
        let tokens = (0..<100).map { _ in SecretToken.generate(prefix: "lca_") }
        #expect(Set(tokens).count == 100)
        #expect(tokens.allSatisfy { $0.hasPrefix("lca_") && $0.count == 4 + 43 })
    }

    @Test("constant-time comparison compares whole values")
    func constantTime() {
        #expect(SecretToken.constantTimeEquals([1, 2, 3], [1, 2, 3]))
        #expect(!SecretToken.constantTimeEquals([1, 2, 3], [1, 2, 4]))
        #expect(!SecretToken.constantTimeEquals([1, 2], [1, 2, 3]))
    }
}
