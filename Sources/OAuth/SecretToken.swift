import Crypto
import Foundation
import Postgres

/// Random secrets (tokens, codes, session handles, client secrets) and their stored form.
/// Secrets are 256 random bits, so SHA-256 is a sufficient one-way hash at rest; only passwords,
/// which people choose, need a slow hash.
public enum SecretToken {
    /// `prefix` + 43 characters of base64url: e.g. `lca_Jb3…` for an access token. Prefixes
    /// make leaked secrets recognisable to secret scanners and in logs.
    public static func generate(prefix: String) -> String {
        prefix + base64URL(randomBytes(32))
    }

    public static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()  // getrandom(2) on Linux
        return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    /// The value stored in the database in place of the secret.
    public static func hash(_ secret: String) -> PostgresBytes {
        PostgresBytes(Array(SHA256.hash(data: Data(secret.utf8))))
    }

    public static func base64URL(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Compares without an early exit, so timing does not reveal how much of a guess was right.
    public static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }

    /// PKCE S256 (RFC 7636 §4.2): BASE64URL(SHA256(ASCII(code_verifier))).
    public static func pkceChallenge(verifier: String) -> String {
        base64URL(SHA256.hash(data: Data(verifier.utf8)))
    }
}
