import Crypto
import Foundation

/// Encrypts secrets at rest with AES-256-GCM under the key-encryption key from configuration:
/// per-lock offline keys and webhook signing secrets. What the secret belongs to is bound in as
/// associated data, so a sealed key copied onto another lock's (or webhook's) row does not open.
public struct KeySealer: Sendable {
    private let keyEncryptionKey: SymmetricKey

    public enum ConfigurationError: Error, CustomStringConvertible {
        case invalidKey
        public var description: String {
            "LOCKCLOUD_KEY_ENCRYPTION_KEY must be 32 random bytes in base64 (e.g. `head -c 32 /dev/urandom | base64`)"
        }
    }

    /// `base64Key`: 32 bytes, base64-encoded.
    public init(base64Key: String) throws {
        guard let bytes = Data(base64Encoded: base64Key.trimmingCharacters(in: .whitespacesAndNewlines)), bytes.count == 32
        else { throw ConfigurationError.invalidKey }
        keyEncryptionKey = SymmetricKey(data: bytes)
    }

    public func seal(_ secret: [UInt8], lockID: UUID) throws -> [UInt8] {
        try seal(secret, boundTo: Self.offlineKeyContext(lockID))
    }

    public func open(_ sealed: [UInt8], lockID: UUID) throws -> [UInt8] {
        try open(sealed, boundTo: Self.offlineKeyContext(lockID))
    }

    /// Seals any secret bound to `context` (what it is and whose), given again to open it.
    public func seal(_ secret: [UInt8], boundTo context: String) throws -> [UInt8] {
        let box = try AES.GCM.seal(secret, using: keyEncryptionKey, authenticating: Data(context.utf8))
        guard let combined = box.combined else { throw CryptoKitError.incorrectParameterSize }
        return Array(combined)
    }

    public func open(_ sealed: [UInt8], boundTo context: String) throws -> [UInt8] {
        let box = try AES.GCM.SealedBox(combined: sealed)
        return Array(try AES.GCM.open(box, using: keyEncryptionKey, authenticating: Data(context.utf8)))
    }

    private static func offlineKeyContext(_ lockID: UUID) -> String {
        "lockcloud-offline-key:\(lockID.uuidString.lowercased())"
    }
}
