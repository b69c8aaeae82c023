import Foundation
import HTTPTypes
import Hummingbird
import LockCloudAPI
import Locks
import NIOCore
import OAuth

/// `GET /locks/{lock_id}`, written by hand instead of generated (the spec describes it like
/// every other operation, and `make test`'s contract run covers it). It is the read Seam makes
/// most, and in `make bench` profiles Foundation's JSONEncoder alone was 11 % of the server's
/// CPU for it; here the lock is written as JSON text directly.
///
/// The token is checked in the same statement that reads the lock (one round trip). Refusals
/// are `BearerAuthMiddleware`'s, in the same order: no or invalid token 401, missing
/// `locks.read` 403, then 404 for a malformed id or a lock that is not the owner's.
struct LockReadRoute {
    static let template = "/locks/{lock_id}"
    let locks: LockStore

    func register(on router: Router<AppRequestContext>, routes: RouteTable, basePath: String) {
        routes.add(basePath + Self.template, .get, on: router) { request, context in
            try await read(request, context)
        }
    }

    func read(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        guard let token = BearerAuthMiddleware.bearerToken(in: request.headers[.authorization]) else {
            throw BearerAuthMiddleware.missingToken()
        }
        // A malformed id still answers 401 before 404 for a bad token; any UUID finds nothing then.
        let id = context.parameters.get("lock_id").flatMap(UUID.init(uuidString:))
        switch try await locks.find(accessToken: token, lockID: id ?? UUID()) {
        case .invalidToken:
            throw BearerAuthMiddleware.invalidToken()
        case .authorized(let scopes, _) where !scopes.contains(.locksRead):
            throw BearerAuthMiddleware.insufficientScope(.locksRead)
        case .authorized(_, let lock?) where id != nil:
            return Response(
                status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: APIHandler.body(lock).jsonText)))
        case .authorized:
            let notFound = APIHandler.lockNotFound
            throw APIError(.notFound, notFound.errorCode, notFound.message)
        }
    }
}
