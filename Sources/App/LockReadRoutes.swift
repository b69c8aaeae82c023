import Foundation
import HTTPTypes
import Hummingbird
import LockCloudAPI
import Locks
import OAuth
import Postgres

/// `GET /locks/{lock_id}` and `GET /locks`, written by hand instead of generated (the spec
/// describes them like every other operation, and `make test`'s contract run covers them).
/// They are the reads Seam makes most, one lock at a time and as the sync after a token
/// refresh; both write their locks with `LockBody.write(to:)` (JSONEncoder was most of the
/// server's CPU for a page of 100 locks).
///
/// Refusals are `BearerAuthMiddleware`'s, in the same order: no or invalid token 401, missing
/// `locks.read` 403; then a malformed query 400, then 404 for a lock that is not the owner's.
///
/// With a read replica the list is read there once it has replayed the token check's WAL
/// position (`ReplicaRouted`); one lock stays on the primary, where its token check and read
/// are a single statement (a replica would add a round trip and save the primary nothing).
struct LockReadRoutes {
    let locks: ReplicaRouted<LockStore>
    let tokens: TokenService

    func register(on router: Router<AppRequestContext>, routes: RouteTable, basePath: String) {
        routes.add(basePath + "/locks", .get, on: router) { request, _ in
            try await list(request)
        }
        routes.add(basePath + "/locks/{lock_id}", .get, on: router) { request, context in
            try await read(request, context)
        }
    }

    /// One page of the owner's locks (`limit`, default 100, and `page_cursor`).
    func list(_ request: Request) async throws -> Response {
        let (grant, position) = try await BearerAuthMiddleware.positionedGrant(
            authorization: request.headers[.authorization], needed: .locksRead, tokens: tokens)
        let query = try ReadQuery(request.uri.query)
        let page: LockStore.Page
        do {
            let limit = try query.integer("limit") ?? 100, cursor = query.string("page_cursor")
            page = try await locks.read(after: position) { try await $0.list(ownerID: grant.ownerID, limit: limit, cursor: cursor) }
        } catch let error as LockError {
            throw APIHandler.apiError(error)
        }
        // A lock is about 1.7 kB of JSON (its five offline options are half of it): room for all
        // of them at once, so the array is never copied to grow.
        var json = JSONWriter(capacity: 64 + 1792 * page.locks.count)
        LockListBody(locks: page.locks.map(APIHandler.body), nextPageCursor: page.nextCursor).write(to: &json)
        return json.response()
    }

    /// One lock. The token is checked in the same statement that reads the lock (one round
    /// trip), with `BearerAuthMiddleware`'s refusals; a malformed id is a 404 after them.
    func read(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        guard let token = BearerAuthMiddleware.bearerToken(in: request.headers[.authorization]) else {
            throw BearerAuthMiddleware.missingToken()
        }
        // A malformed id still answers 401 before 404 for a bad token; any UUID finds nothing then.
        let id = context.parameters.get("lock_id").flatMap(UUID.init(uuidString:))
        switch try await locks.primary.find(accessToken: token, lockID: id ?? UUID()) {
        case .invalidToken:
            throw BearerAuthMiddleware.invalidToken()
        case .authorized(let scopes, _) where !scopes.contains(.locksRead):
            throw BearerAuthMiddleware.insufficientScope(.locksRead)
        case .authorized(_, let lock?) where id != nil:
            var json = JSONWriter(capacity: 1792)
            APIHandler.body(lock).write(to: &json)
            return json.response()
        case .authorized:
            let notFound = APIHandler.lockNotFound
            throw APIError(.notFound, notFound.errorCode, notFound.message)
        }
    }
}
