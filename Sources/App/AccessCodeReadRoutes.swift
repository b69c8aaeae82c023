import Foundation
import HTTPTypes
import Hummingbird
import LockCloudAPI
import Locks
import OAuth
import Postgres

/// The reads of access codes, written by hand instead of generated (the spec describes them
/// like every other operation, and `make test`'s contract run covers them): one code, and a
/// lock's codes at both paths (`GET /locks/{lock_id}/access_codes`, and the older guide's
/// `GET /access_codes?lock_id=`). Seam reads a lock's whole list (up to 199 codes) to check for
/// duplicates; every code is written by `AccessCodeBody.write(to:)`.
///
/// Refusals are `BearerAuthMiddleware`'s, in the same order: no or invalid token 401, missing
/// `locks.read` 403; then a malformed query 400, then 404 for a code or lock that is not the
/// owner's.
///
/// With a read replica, lists and single codes are read there once it has replayed the token
/// check's WAL position (`ReplicaRouted`), so a client always sees its own changes.
struct AccessCodeReadRoutes {
    let accessCodes: ReplicaRouted<AccessCodeStore>
    let tokens: TokenService

    /// `#/components/parameters/AccessCodeStatusFilter`'s values.
    static let statuses: Set<String> = ["pending", "scheduled", "active", "removing", "expired", "failed", "removed"]

    func register(on router: Router<AppRequestContext>, routes: RouteTable, basePath: String) {
        routes.add(basePath + "/locks/{lock_id}/access_codes", .get, on: router) { request, context in
            let grant = try await grant(request)
            let query = try ReadQuery(request.uri.query)
            return try await list(lockID: context.parameters.get("lock_id"), query: query, grant: grant)
        }
        routes.add(basePath + "/access_codes", .get, on: router) { request, _ in
            let grant = try await grant(request)
            let query = try ReadQuery(request.uri.query)
            return try await list(lockID: try query.requiredString("lock_id"), query: query, grant: grant)
        }
        routes.add(basePath + "/access_codes/{access_code_id}", .get, on: router) { request, context in
            try await read(id: context.parameters.get("access_code_id"), grant: try await grant(request))
        }
    }

    private func grant(_ request: Request) async throws -> (grant: AccessGrant, position: WALPosition?) {
        try await BearerAuthMiddleware.positionedGrant(authorization: request.headers[.authorization], needed: .locksRead, tokens: tokens)
    }

    /// Live codes, or every code with `include_ended`, or one `status`; `limit` and `page_cursor`.
    func list(lockID: String?, query: ReadQuery, grant: (grant: AccessGrant, position: WALPosition?)) async throws -> Response {
        let limit = try query.integer("limit")
        let includeEnded = try query.boolean("include_ended")
        let status = try query.oneOf(Self.statuses, "status")
        let filter = Self.filter(includeEnded: includeEnded, status: status), cursor = query.string("page_cursor")
        guard let lockID = lockID.flatMap(UUID.init(uuidString:)),
            let page = try await accessCodes.read(after: grant.position, {
                try await $0.list(ownerID: grant.grant.ownerID, lockID: lockID, filter: filter, limit: limit, cursor: cursor)
            })
        else {
            let notFound = APIHandler.lockNotFound
            throw APIError(.notFound, notFound.errorCode, notFound.message)
        }
        var json = JSONWriter(capacity: 64 + 640 * page.codes.count)
        AccessCodeListBody(accessCodes: page.codes.map(APIHandler.body), nextPageCursor: page.nextCursor).write(to: &json)
        return json.response()
    }

    /// Any of the owner's codes, removed ones too.
    func read(id: String?, grant: (grant: AccessGrant, position: WALPosition?)) async throws -> Response {
        guard let id = id.flatMap(UUID.init(uuidString:)),
            let code = try await accessCodes.read(after: grant.position, { try await $0.find(ownerID: grant.grant.ownerID, id: id) })
        else {
            let notFound = APIHandler.accessCodeNotFound
            throw APIError(.notFound, notFound.errorCode, notFound.message)
        }
        var json = JSONWriter(capacity: 640)
        APIHandler.body(code).write(to: &json)
        return json.response()
    }

    /// A status filter names its codes; otherwise live codes, or every code with `include_ended`.
    static func filter(includeEnded: Bool?, status: String?) -> AccessCodeStore.ListFilter {
        if let status { return .status(status) }
        return includeEnded == true ? .all : .live
    }
}
