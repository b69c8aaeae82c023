import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Locks
import NIOCore
import NIOFoundationEssentialsCompat
import OAuth
import Postgres

/// `Idempotency-Key` for every POST of the resource API, in one place (contract section 1).
/// Keys are scoped by the caller (owner and OAuth client, whatever access token it uses now)
/// and kept 24 hours. The first request claims the key in PostgreSQL, so concurrent repeats on
/// any instance see it: same body → the stored first response again; another body → 409
/// `IDEMPOTENCY_KEY_REUSED`; still running → 409 `IDEMPOTENCY_KEY_IN_USE`.
///
/// A replay can carry what is shown once (a pairing's device credential, PINs), so the caller
/// is authorized first, as the route itself would: a bearer token without `locks.write` (every
/// POST of the resource API needs it) never claims or replays a key and meets the route's own
/// 403. Only successful (2xx) responses are stored; any other answer frees the key, so the
/// request can be retried with it.
///
/// A claim holds a lease (`leaseSeconds`): a server that dies between claim and response
/// cannot release the key, so a claim without a response whose lease has run out is free to
/// claim again. Each claim has its own id, and storing or releasing only touches that claim.
struct IdempotencyMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    static let header = HTTPField.Name("Idempotency-Key")!
    static let defaultRetentionSeconds = 24 * 3600

    let database: PostgresConnectionPool
    let tokens: TokenService
    let clients: ClientStore
    /// Stored responses hold PINs and webhook secrets: they are sealed like other secrets.
    let sealer: KeySealer
    let maxBodyBytes: Int
    /// Seconds a claim without a response keeps its key; longer than the slowest request.
    let leaseSeconds: Int
    /// Seconds a key is kept (a finished one replays its response until then).
    var retentionSeconds = Self.defaultRetentionSeconds

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .post, let key = request.headers[Self.header] else { return try await next(request, context) }
        guard (1...255).contains(key.count), key.allSatisfy({ $0.isASCII && !$0.isWhitespace }) else {
            throw APIError(.badRequest, "INVALID_IDEMPOTENCY_KEY", "Idempotency-Key must be 1 to 255 visible ASCII characters.")
        }
        // The resource API (bearer tokens) and webhook registration (clients, HTTP Basic); device
        // and OAuth endpoints have their own rules.
        guard let scope = try await callerScope(request) else { return try await next(request, context) }

        var request = request
        let body = try await request.collectBody(upTo: maxBodyBytes)
        var digest = SHA256()
        digest.update(data: Data("\(request.method.rawValue) \(request.uri.path)\n".utf8))
        digest.update(data: Data(buffer: body))
        let requestHash = PostgresBytes(Array(digest.finalize()))

        let claim = UUID()
        if let replay = try await claimOrReplay(scope: scope, key: key, requestHash: requestHash, claim: claim) { return replay }
        let response: Response
        do {
            response = try await next(request, context)
        } catch {
            try? await release(scope: scope, key: key, claim: claim)
            throw error
        }
        guard (200..<300).contains(response.status.code) else {
            try? await release(scope: scope, key: key, claim: claim)
            return response
        }
        let sink = CollectedBody()
        try await response.body.write(CollectingWriter(sink: sink))
        let bytes = sink.buffer
        try await database.query(
            """
            UPDATE idempotency_keys SET status_code = $3, content_type = $4, response_body = $5
            WHERE scope = $1 AND key = $2 AND claim_id = $6
            """,
            [scope, key, Int(response.status.code), response.headers[.contentType],
             PostgresBytes(try sealer.seal(Array(buffer: bytes), boundTo: Self.sealContext(scope: scope, key: key))), claim])
        var stored = response
        stored.body = .init(byteBuffer: bytes)
        return stored
    }

    /// Whose keys these are: an owner through one client (bearer), or a client itself (Basic).
    /// Nil, so the route answers for itself, when the caller may not make this request at all.
    private func callerScope(_ request: Request) async throws -> String? {
        guard let authorization = request.headers[.authorization] else { return nil }
        if let token = BearerAuthMiddleware.bearerToken(in: authorization), let grant = try await tokens.authenticate(accessToken: token) {
            guard grant.scopes.contains(.locksWrite) else { return nil }
            return "owner:\(grant.ownerID.uuidString.lowercased()) client:\(grant.clientID)"
        }
        let path = request.uri.path
        if path.hasSuffix("/webhooks") || path.contains("/webhooks/"),
            let basic = BasicCredentials.parse(authorization),
            let client = try await clients.authenticate(id: basic.id, secret: basic.secret)
        {
            return "client:\(client.id)"
        }
        return nil
    }

    /// Claims the key for this request (nil), or answers for an earlier request with the key.
    private func claimOrReplay(scope: String, key: String, requestHash: PostgresBytes, claim: UUID) async throws -> Response? {
        let retention = retentionSeconds
        let lease = leaseSeconds
        let existing = try await database.transaction { connection -> PostgresRow? in
            try connection.query(
                "DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND created_at < now() - make_interval(secs => $3)",
                [scope, key, retention])
            // A new key, or one whose claim ended without a response (its server died): ours.
            let claimed = try connection.query(
                """
                INSERT INTO idempotency_keys (scope, key, request_hash, claim_id, lease_expires_at)
                VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))
                ON CONFLICT (scope, key) DO UPDATE SET request_hash = excluded.request_hash, claim_id = excluded.claim_id,
                    lease_expires_at = excluded.lease_expires_at, created_at = now()
                WHERE idempotency_keys.status_code IS NULL AND idempotency_keys.lease_expires_at < now()
                """,
                [scope, key, requestHash, claim, lease])
            guard claimed.affectedRows == 0 else { return nil }
            return try connection.query(
                "SELECT request_hash, status_code, content_type, response_body FROM idempotency_keys WHERE scope = $1 AND key = $2",
                [scope, key]
            ).singleRow()
        }
        guard let existing else { return nil }
        guard try existing.decode(PostgresBytes.self, at: 0) == requestHash else {
            throw APIError(.conflict, "IDEMPOTENCY_KEY_REUSED", "This Idempotency-Key was used with a different request.")
        }
        guard let status = try existing.decode(Int?.self, at: 1) else {
            throw APIError(.conflict, "IDEMPOTENCY_KEY_IN_USE", "A request with this Idempotency-Key is still being processed.")
        }
        var headers: HTTPFields = [HTTPField.Name("Idempotent-Replayed")!: "true"]
        if let contentType = try existing.decode(String?.self, at: 2) { headers[.contentType] = contentType }
        let sealed = try existing.decode(PostgresBytes?.self, at: 3)?.bytes ?? []
        let body = try sealer.open(sealed, boundTo: Self.sealContext(scope: scope, key: key))
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    static func sealContext(scope: String, key: String) -> String { "lockcloud-idempotent-response:\(scope) key:\(key)" }

    private func release(scope: String, key: String, claim: UUID) async throws {
        try await database.query(
            "DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND claim_id = $3 AND status_code IS NULL",
            [scope, key, claim])
    }
}

/// Gathers a response body so it can be stored and sent.
final class CollectedBody: @unchecked Sendable {
    var buffer = ByteBuffer()
}

struct CollectingWriter: ResponseBodyWriter {
    let sink: CollectedBody

    mutating func write(_ buffer: ByteBuffer) async throws {
        var buffer = buffer
        sink.buffer.writeBuffer(&buffer)
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
