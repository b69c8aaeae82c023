import Crypto
import Foundation

/// Standard Webhooks signing (https://www.standardwebhooks.com): a secret `whsec_<base64>`,
/// and `webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`, one entry
/// per secret in use, separated by spaces.
public enum WebhookSignature {
    static let prefix = "whsec_"

    /// A new secret: 32 random bytes in the `whsec_` form.
    public static func newSecret() -> String {
        prefix + Data(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }).base64EncodedString()
    }

    /// The HMAC key inside a `whsec_` secret.
    public static func key(of secret: String) -> [UInt8]? {
        guard secret.hasPrefix(prefix), let bytes = Data(base64Encoded: String(secret.dropFirst(prefix.count))) else {
            return nil
        }
        return Array(bytes)
    }

    /// The `webhook-signature` header value for one message, signed with every key given.
    public static func header(id: String, timestamp: Int, body: [UInt8], keys: [[UInt8]]) -> String {
        let signed = Array("\(id).\(timestamp).".utf8) + body
        return keys.map { key in
            "v1," + Data(HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: key))).base64EncodedString()
        }.joined(separator: " ")
    }
}
