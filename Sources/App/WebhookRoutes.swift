import Foundation
import HTTPTypes
import Hummingbird
import OAuth
import Postgres
import Webhooks

/// Webhook registration (per OAuth client, HTTP Basic as at the token endpoint) and the event
/// feed. Written by hand like the device gateway: client authentication is not a bearer token.
struct WebhookRoutes: Sendable {
    let webhooks: WebhookStore
    /// On the read replica when it has replayed the caller's authentication (`ReplicaRouted`).
    let feed: ReplicaRouted<EventFeed>
    let clients: ClientStore
    let tokens: TokenService
    let maxBodyBytes: Int

    func register(on router: Router<AppRequestContext>, routes: RouteTable, basePath: String) {
        routes.add(basePath + "/webhooks", .post, on: router, use: create)
        routes.add(basePath + "/webhooks", .get, on: router, use: list)
        routes.add(basePath + "/webhooks/{webhook_id}", .delete, on: router, use: delete)
        routes.add(basePath + "/webhooks/{webhook_id}/rotate_secret", .post, on: router, use: rotate)
        routes.add(basePath + "/events", .get, on: router, use: events)
    }

    static let unauthorized = APIError(
        .unauthorized, "INVALID_CLIENT", "Authenticate as an OAuth client with HTTP Basic (client id and secret).",
        headers: [.wwwAuthenticate: "Basic realm=\"LockCloud\", charset=\"UTF-8\""])

    private func client(_ request: Request) async throws -> OAuthClient {
        guard let header = request.headers[.authorization], let credentials = BasicCredentials.parse(header),
            let client = try await clients.authenticate(id: credentials.id, secret: credentials.secret)
        else { throw Self.unauthorized }
        return client
    }

    private static func webhookID(_ context: AppRequestContext) throws -> UUID {
        guard let id = context.parameters.get("webhook_id").flatMap(UUID.init(uuidString:)) else { throw notFound }
        return id
    }

    static let notFound = APIError(.notFound, "NOT_FOUND", "No webhook with this id.")

    static func object(_ webhook: Webhook) -> [String: Any] {
        [
            "webhook_id": webhook.id.uuidString.lowercased(), "url": webhook.url, "events": webhook.eventTypes,
            "status": "active", "created_at": webhook.createdAt.formatted(.iso8601),
        ]
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> Response {
        let client = try await client(request)
        let body = try await JSONRequestBody.decode(WebhookRegistrationBody.self, from: request, maxBytes: maxBodyBytes)
        guard let url = body.url else { throw APIError(.badRequest, "INVALID_WEBHOOK_URL", "url is required.") }
        let (webhook, secret) = try await webhooks.register(clientID: client.id, url: url, eventTypes: body.events ?? [])
        var answer = Self.object(webhook)
        answer["secret"] = secret
        return HandWrittenJSON.response(answer, status: .created)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        let client = try await client(request)
        let list = try await webhooks.list(clientID: client.id)
        return HandWrittenJSON.response(["webhooks": list.map(Self.object), "next_page_cursor": NSNull()])
    }

    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> Response {
        let client = try await client(request)
        let id = try Self.webhookID(context)
        guard try await webhooks.delete(clientID: client.id, id: id) else { throw Self.notFound }
        return HandWrittenJSON.response(["ok": true, "webhook_id": id.uuidString.lowercased()])
    }

    @Sendable func rotate(_ request: Request, context: AppRequestContext) async throws -> Response {
        let client = try await client(request)
        let id = try Self.webhookID(context)
        let secret = try await webhooks.rotateSecret(clientID: client.id, id: id)
        return HandWrittenJSON.response([
            "webhook_id": id.uuidString.lowercased(), "secret": secret,
            "previous_secret_valid_until": Date().addingTimeInterval(Double(WebhookStore.previousSecretSeconds)).formatted(.iso8601),
        ])
    }

    /// `GET /events`: as a client (Basic), the events of every owner it serves; with an access
    /// token (`locks.read`), that token's owner's, as the token's client sees them. Either way
    /// from the client's live grant's start on, with other clients' identifiers nulled (see
    /// EventFeed). The envelopes go out as the database rendered them, the same bytes webhooks carry.
    @Sendable func events(_ request: Request, context: AppRequestContext) async throws -> Response {
        let audience: EventFeed.Audience
        let position: WALPosition?
        if let token = BearerAuthMiddleware.bearerToken(in: request.headers[.authorization]) {
            guard let (grant, at) = try await tokens.authenticateWithPosition(accessToken: token) else { throw BearerAuthMiddleware.invalidToken() }
            guard grant.scopes.contains(.locksRead) else { throw BearerAuthMiddleware.insufficientScope(.locksRead) }
            audience = .grant(ownerID: grant.ownerID, clientID: grant.clientID)
            position = at
        } else {
            guard let header = request.headers[.authorization], let credentials = BasicCredentials.parse(header),
                let (client, at) = try await clients.authenticateWithPosition(id: credentials.id, secret: credentials.secret)
            else { throw Self.unauthorized }
            audience = .client(client.id)
            position = at
        }
        let limitText = request.uri.queryParameters["limit"].map(String.init) ?? "100"
        guard let limit = Int(limitText) else { throw APIError(.badRequest, "INVALID_LIMIT", "limit must be between 1 and 1000.") }
        let cursor = request.uri.queryParameters["page_cursor"].map(String.init)
        let page = try await feed.read(after: position) { try await $0.page(for: audience, limit: limit, cursor: cursor) }
        var text = "{\"events\":[" + page.envelopes.joined(separator: ",") + "],\"next_page_cursor\":"
        text += page.nextCursor.map { "\"\($0)\"" } ?? "null"
        text += "}"
        return Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: .init(string: text)))
    }
}

/// `POST /webhooks`: the destination and the event types it wants (none: every type).
struct WebhookRegistrationBody: Decodable {
    let url: String?
    let events: [String]?
}

extension WebhookError {
    var apiError: APIError {
        switch self {
        case .invalidURL(let why): return APIError(.badRequest, "INVALID_WEBHOOK_URL", why)
        case .forbiddenDestination(let why): return APIError(.badRequest, "FORBIDDEN_WEBHOOK_DESTINATION", why)
        case .unknownEventType(let type): return APIError(.badRequest, "UNKNOWN_EVENT_TYPE", "\(type) is not an event type LockCloud emits.")
        case .limitReached:
            return APIError(.conflict, "WEBHOOK_LIMIT_REACHED", "A client may register at most \(Webhook.maxPerClient) webhooks.")
        case .notFound: return WebhookRoutes.notFound
        case .invalidCursor: return APIError(.badRequest, "INVALID_PAGE_CURSOR", "page_cursor is not one this API issued.")
        case .invalidLimit: return APIError(.badRequest, "INVALID_LIMIT", "limit must be between 1 and 1000.")
        }
    }
}
