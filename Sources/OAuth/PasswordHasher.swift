import HummingbirdBcrypt
import NIOPosix

/// bcrypt password hashing, run on NIO's blocking thread pool: a hash costs tens of
/// milliseconds of CPU by design and must not stall an event loop or the cooperative pool.
public struct PasswordHasher: Sendable {
    public let cost: UInt8
    /// A hash of a random password nobody knows, at the same cost: unknown emails are verified
    /// against it, so a sign-in takes as long whether or not the account exists.
    let decoyHash: String

    public init(cost: UInt8 = 11) {
        self.cost = cost
        self.decoyHash = Bcrypt.hash(SecretToken.generate(prefix: ""), cost: cost)
    }

    public func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    public func verify(_ password: String, hash: String) async throws -> Bool {
        try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
    }
}
