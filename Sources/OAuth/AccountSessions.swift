import Crypto
import Foundation
import Postgres

/// What the owner pages (`/account`) need of browser sessions beyond the sign-in pages' use:
/// a CSRF token per session, signing out, and ending the owner's other sessions.
extension SessionStore {
    /// The CSRF token of a session's forms, derived from the session cookie (as
    /// `AuthorizationRequestStore.csrfToken` is from the request handle): another site can make
    /// the browser send the cookie but can read neither it nor this token. A distinct label, so
    /// an authorization form's token is never an account form's.
    public static func csrfToken(forSession session: String) -> String {
        SecretToken.base64URL(SHA256.hash(data: Data(("lockcloud-account-csrf:" + session).utf8)))
    }

    /// Signs one browser out. The authorization requests signed in through that session go
    /// with it: approving one needs the session (`AuthorizationRequest.isBound`), and a
    /// session that has ended must not be able to approve anything.
    public func end(session: String) async throws {
        let hash = SecretToken.hash(session)
        try await database.transaction { connection in
            try connection.query("DELETE FROM oauth_authorization_requests WHERE session_hash = $1", [hash])
            try connection.query("DELETE FROM oauth_sessions WHERE session_hash = $1", [hash])
        }
    }

    /// Ends every session of the owner but `keeping` (a password change: whoever used the old
    /// password elsewhere is signed out), with their authorization requests.
    public func endOthers(ownerID: UUID, keeping session: String, on connection: PostgresConnection) throws {
        let hash = SecretToken.hash(session)
        try connection.query(
            "DELETE FROM oauth_authorization_requests WHERE owner_id = $1 AND session_hash IS DISTINCT FROM $2", [ownerID, hash])
        try connection.query("DELETE FROM oauth_sessions WHERE owner_id = $1 AND session_hash <> $2", [ownerID, hash])
    }
}

public enum PasswordChange: Sendable, Equatable {
    case changed
    case wrongCurrentPassword
    case weakPassword
}

extension OwnerStore {
    /// Sets a new password when `current` is right, and ends every other session of the owner
    /// in the same transaction. A new password follows the rule of `create` (8 to 72 bytes for bcrypt).
    public func changePassword(ownerID: UUID, current: String, new: String, keepingSession session: String, sessions: SessionStore) async throws -> PasswordChange {
        guard let row = try await database.query("SELECT password_hash FROM owners WHERE owner_id = $1", [ownerID]).singleRow(),
            try await hasher.verify(current, hash: try row.decode(String.self, at: 0))
        else { return .wrongCurrentPassword }
        guard new.count >= 8, new.utf8.count <= 72 else { return .weakPassword }
        let hash = try await hasher.hash(new)
        try await database.transaction { connection in
            try connection.query("UPDATE owners SET password_hash = $2 WHERE owner_id = $1", [ownerID, hash])
            try sessions.endOthers(ownerID: ownerID, keeping: session, on: connection)
        }
        return .changed
    }
}
