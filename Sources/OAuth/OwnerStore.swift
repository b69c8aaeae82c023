import Foundation
import Postgres

/// A lock owner's account. `id` is the stable `user_id` Seam sees: never the email.
public struct Owner: Sendable, Equatable {
    public let id: UUID
    public let email: String
}

public enum OwnerError: Error, Equatable, CustomStringConvertible {
    case invalidEmail
    case weakPassword
    case emailTaken

    public var description: String {
        switch self {
        case .invalidEmail: return "the email address is not valid"
        case .weakPassword: return "the password must be 8 to 72 characters"
        case .emailTaken: return "an account with this email already exists"
        }
    }
}

public struct OwnerStore: Sendable {
    let database: PostgresConnectionPool
    let hasher: PasswordHasher

    public init(database: PostgresConnectionPool, hasher: PasswordHasher) {
        self.database = database
        self.hasher = hasher
    }

    /// Emails compare case-insensitively: stored trimmed and lower-cased.
    public static func normalize(email: String) -> String {
        email.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }

    public func create(email rawEmail: String, password: String) async throws -> Owner {
        let email = Self.normalize(email: rawEmail)
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), email.count <= 254,
            !email.contains(where: { $0.isWhitespace })
        else { throw OwnerError.invalidEmail }
        // bcrypt reads at most 72 bytes; longer passwords would be silently truncated.
        guard password.count >= 8, password.utf8.count <= 72 else { throw OwnerError.weakPassword }
        let hash = try await hasher.hash(password)
        do {
            let row = try await database.query(
                "INSERT INTO owners (email, password_hash) VALUES ($1, $2) RETURNING owner_id", [email, hash]
            ).firstRow()
            return Owner(id: try row.decode(UUID.self, at: 0), email: email)
        } catch let error as PostgresError where error.constraint == "owners_email_key" {
            throw OwnerError.emailTaken
        }
    }

    /// The owner when email and password match; nil otherwise, in about the same time
    /// whether or not the email exists.
    public func authenticate(email rawEmail: String, password: String) async throws -> Owner? {
        let email = Self.normalize(email: rawEmail)
        let row = try await database.query(
            "SELECT owner_id, password_hash FROM owners WHERE email = $1", [email]
        ).singleRow()
        guard let row else {
            _ = try await hasher.verify(password, hash: hasher.decoyHash)
            return nil
        }
        guard try await hasher.verify(password, hash: try row.decode(String.self, at: 1)) else { return nil }
        return Owner(id: try row.decode(UUID.self, at: 0), email: email)
    }

    public func find(email: String) async throws -> Owner? {
        guard let row = try await database.query(
            "SELECT owner_id, email FROM owners WHERE email = $1", [Self.normalize(email: email)]
        ).singleRow() else { return nil }
        return Owner(id: try row.decode(UUID.self, at: 0), email: try row.decode(String.self, at: 1))
    }

    public func find(id: UUID) async throws -> Owner? {
        guard let row = try await database.query("SELECT owner_id, email FROM owners WHERE owner_id = $1", [id]).singleRow()
        else { return nil }
        return Owner(id: try row.decode(UUID.self, at: 0), email: try row.decode(String.self, at: 1))
    }
}
