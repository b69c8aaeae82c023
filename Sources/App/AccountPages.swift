import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Locks
import OAuth

/// The owner pages under `/account`: connected apps, locks, access codes, activity, password.
/// They share the sign-in pages' session cookie (signing in on either serves both), their
/// headers (no framing, strict CSP, no caching) and their rules: plain HTML forms, every POST
/// answers 303 or a page with the form's error, and every POST carries a CSRF token derived
/// from the session cookie (`SessionStore.csrfToken`).
struct AccountPages: Sendable {
    let services: OAuthServices
    let locks: LockStore
    let actions: ActionStore
    let accessCodes: AccessCodeStore
    let offlineCodes: OfflineCodeRegistry
    let apps: ConnectedAppStore
    let activity: OwnerActivity

    /// The signed-in owner of a request.
    struct SignedIn: Sendable {
        let owner: Owner
        let session: String
        var csrfToken: String { SessionStore.csrfToken(forSession: session) }
    }

    var basePath: String { services.basePath }
    func path(_ suffix: String) -> String { basePath + "/account" + suffix }

    /// The session cookie of the sign-in pages; `__Host-` prefixed behind https.
    var sessionCookie: String { (services.secureCookies ? "__Host-" : "") + "lc_session" }
    /// Binds the sign-in form to this browser before there is a session (login CSRF: another
    /// site must not sign the victim in to the attacker's account).
    var signInCookie: String { (services.secureCookies ? "__Host-" : "") + "lc_account_signin" }

    /// Paths are written out in full (the fuzz suite reads them from here to check that
    /// openapi/openapi.yaml lists every hand-written route).
    func register(on router: Router<AppRequestContext>, routes: RouteTable) {
        func add(_ path: String, _ method: HTTPRequest.Method,
                 _ handler: @escaping @Sendable (Request, AppRequestContext) async throws -> Response) {
            routes.add(basePath + path, method, on: router, use: handler)
        }
        add("/account", .get, home)
        add("/account/sign-in", .get, signInPage)
        add("/account/sign-in", .post, signIn)
        add("/account/sign-out", .post, form(signOut))
        add("/account/locks", .get, page(locksPage))
        add("/account/locks/{lock_id}", .get, page(lockPage))
        add("/account/locks/{lock_id}/rename", .post, form(rename))
        add("/account/locks/{lock_id}/actions", .post, form(requestAction))
        add("/account/locks/{lock_id}/codes", .post, form(createOnlineCode))
        add("/account/locks/{lock_id}/offline-codes", .post, form(issueOfflineCode))
        add("/account/locks/{lock_id}/codes/{access_code_id}/remove", .post, form(removeCode))
        add("/account/activity", .get, page(activityPage))
        add("/account/apps", .get, page(appsPage))
        add("/account/apps/{client_id}/revoke", .post, form(revokeApp))
        add("/account/password", .get, page { account, request, _ in passwordPage(account, notice: Self.query(request)?["notice"]) })
        add("/account/password", .post, form(changePassword))
    }

    func home(_ request: Request, context: AppRequestContext) async throws -> Response {
        OAuthAuthorizePages.seeOther(path(try await signedIn(request) == nil ? "/sign-in" : "/locks"))
    }

    // MARK: - Sessions and forms

    func signedIn(_ request: Request) async throws -> SignedIn? {
        guard let session = request.cookies[sessionCookie]?.value, !session.isEmpty,
            let ownerID = try await services.sessions.owner(session: session),
            let owner = try await services.owners.find(id: ownerID)
        else { return nil }
        return SignedIn(owner: owner, session: session)
    }

    typealias PageHandler = @Sendable (SignedIn, Request, AppRequestContext) async throws -> Response
    typealias FormHandler = @Sendable (SignedIn, FormParameters, Request, AppRequestContext) async throws -> Response

    /// A GET page for the signed-in owner; without a session, the sign-in page.
    func page(_ handler: @escaping PageHandler) -> @Sendable (Request, AppRequestContext) async throws -> Response {
        { request, context in
            guard let account = try await signedIn(request) else { return OAuthAuthorizePages.seeOther(path("/sign-in")) }
            return try await handler(account, request, context)
        }
    }

    /// A form POST: the body is read as a form, the session must be live and the CSRF token
    /// must be the session's, before the handler runs. Nothing changes otherwise.
    func form(_ handler: @escaping FormHandler) -> @Sendable (Request, AppRequestContext) async throws -> Response {
        { request, context in
            var request = request
            let fields: FormParameters
            switch try await FormParameters.read(&request, allowJSON: false, maxBytes: services.maxBodyBytes) {
            case .parameters(let read) where read.repeated.isEmpty: fields = read
            case .parameters, .malformedForm, .malformedJSON:
                return AccountLayout.message(.badRequest, title: "Invalid form", text: "The form could not be read. Submit it from its page.", basePath: basePath)
            case .unsupportedMediaType:
                return AccountLayout.message(.unsupportedMediaType, title: "Unsupported form", text: "Submit the form from its page.", basePath: basePath)
            }
            guard let account = try await signedIn(request) else { return OAuthAuthorizePages.seeOther(path("/sign-in")) }
            guard let token = fields["csrf_token"],
                SecretToken.constantTimeEquals(Array(token.utf8), Array(account.csrfToken.utf8))
            else {
                return AccountLayout.message(.forbidden, title: "Form expired", text: "This form is no longer valid. Reload the page and try again.", basePath: basePath)
            }
            return try await handler(account, fields, request, context)
        }
    }

    /// A request's query as strict form parameters; nil when malformed.
    static func query(_ request: Request) -> FormParameters? {
        try? FormParameters(urlEncoded: request.uri.query ?? "")
    }

    func cookie(_ name: String, _ value: String, maxAge: Int) -> String {
        "\(name)=\(value); Path=/; Max-Age=\(maxAge); HttpOnly; SameSite=Lax" + (services.secureCookies ? "; Secure" : "")
    }

    // MARK: - Sign in and out

    static let signInLifetimeSeconds = 30 * 60

    static func signInToken(forCookie value: String) -> String {
        SecretToken.base64URL(SHA256.hash(data: Data(("lockcloud-account-sign-in:" + value).utf8)))
    }

    func signInPage(_ request: Request, context: AppRequestContext) async throws -> Response {
        if try await signedIn(request) != nil { return OAuthAuthorizePages.seeOther(path("/locks")) }
        let message: String? = switch Self.query(request)?["notice"] {
        case "failed": "The email or password is incorrect."
        case "throttled": "Too many failed sign-ins. Wait a few minutes, then try again."
        case "signed_out": "You are signed out."
        default: nil
        }
        // Kept while it lives, so two sign-in tabs do not invalidate each other's form.
        let kept = request.cookies[signInCookie]?.value
        let binding = kept.flatMap { $0.count == 43 && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") } ? $0 : nil }
            ?? SecretToken.generate(prefix: "")
        var response = AccountLayout.page(.ok, title: "Sign in", account: nil, basePath: basePath, narrow: true, body: """
            <h1>Your LockCloud account</h1>
            \(HTML.when(message != nil, "<p class=\"notice\" role=\"status\">\(message ?? "")</p>"))
            <form method="post" action="\(path("/sign-in"))">
            <input type="hidden" name="csrf_token" value="\(Self.signInToken(forCookie: binding))">
            <label for="email">Email</label>
            <input id="email" name="email" type="email" autocomplete="username" required>
            <label for="password">Password</label>
            <input id="password" name="password" type="password" autocomplete="current-password" required>
            <button type="submit" id="sign-in">Sign in</button>
            </form>
            """)
        response.headers.append(HTTPField(name: .setCookie, value: cookie(signInCookie, binding, maxAge: Self.signInLifetimeSeconds)))
        return response
    }

    func signOut(_ account: SignedIn, _ fields: FormParameters, _ request: Request, _ context: AppRequestContext) async throws -> Response {
        try await services.sessions.end(session: account.session)
        var response = OAuthAuthorizePages.seeOther(path("/sign-in?notice=signed_out"))
        response.headers.append(HTTPField(name: .setCookie, value: cookie(sessionCookie, "", maxAge: 0)))
        return response
    }

    func signIn(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        guard case .parameters(let fields) = try await FormParameters.read(&request, allowJSON: false, maxBytes: services.maxBodyBytes),
            fields.repeated.isEmpty
        else { return AccountLayout.message(.badRequest, title: "Invalid form", text: "Submit the form from the sign-in page.", basePath: basePath) }
        guard let binding = request.cookies[signInCookie]?.value, let token = fields["csrf_token"],
            SecretToken.constantTimeEquals(Array(token.utf8), Array(Self.signInToken(forCookie: binding).utf8))
        else {
            return AccountLayout.message(.forbidden, title: "Form expired", text: "This sign-in form is no longer valid. Open the sign-in page again.", basePath: basePath)
        }
        // The same rules as the authorization pages' sign-in: cut, throttled, counted.
        let email = String((fields["email"] ?? "").prefix(254))
        let address = services.trustedProxies.clientAddress(peer: context.peerAddress, headers: request.headers)
        if try await services.throttle.isBlocked(email: email, address: address) {
            return OAuthAuthorizePages.seeOther(path("/sign-in?notice=throttled"))
        }
        guard let owner = try await services.owners.authenticate(email: email, password: fields["password"] ?? "") else {
            try await services.throttle.recordFailure(email: email, address: address)
            return OAuthAuthorizePages.seeOther(path("/sign-in?notice=failed"))
        }
        // Always a new session: a session value planted in this browser before is not reused.
        let session = try await services.sessions.create(ownerID: owner.id)
        var response = OAuthAuthorizePages.seeOther(path("/locks"))
        response.headers.append(HTTPField(name: .setCookie, value: cookie(sessionCookie, session, maxAge: SessionStore.lifetimeSeconds)))
        response.headers.append(HTTPField(name: .setCookie, value: cookie(signInCookie, "", maxAge: 0)))
        return response
    }
}
