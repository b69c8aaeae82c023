import HTTPTypes
import Postgres
import Foundation
import Hummingbird
import OAuth

/// The browser side of the authorization code flow: GET /oauth/authorize (alias /authorize)
/// validates the client and redirect URI, then shows sign-in or consent; POSTs to
/// /oauth/authorize sign in, approve or deny and always answer 303.
struct OAuthAuthorizePages: Sendable {
    let services: OAuthServices

    /// Cookie names. With an https public URL they carry the `__Host-` prefix, which browsers
    /// accept only from a secure origin, with `Path=/` and no `Domain`: a sibling subdomain or a
    /// plain-http page on the same host cannot plant or overwrite them.
    var requestCookie: String { (services.secureCookies ? "__Host-" : "") + "lc_authz" }
    var sessionCookie: String { (services.secureCookies ? "__Host-" : "") + "lc_session" }

    var formAction: String { services.basePath + "/oauth/authorize" }
    var continuePath: String { services.basePath + "/oauth/authorize/continue" }

    func authorize(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let query = try? FormParameters(urlEncoded: request.uri.query ?? "") else {
            return HTMLPage.error(.badRequest, title: "Invalid sign-in link", message: "This sign-in link is malformed. Start again from the application.")
        }
        // 1. Client and redirect URI first: until both are known good, never redirect.
        // The older guide's request sends only redirect_uri: then the client is the one that
        // registered exactly that URI, and it must be exactly one (a URI two clients share
        // could hand one client's sign-in to the other).
        let olderGuideForm = query["client_id"] == nil
        let client: OAuthClient
        if olderGuideForm {
            guard let uri = query["redirect_uri"], !query.repeated.contains("redirect_uri") else {
                return HTMLPage.error(.badRequest, title: "Unknown application", message: "This sign-in link names no application (client_id or redirect_uri).")
            }
            let clients = try await services.clients.find(redirectURI: uri)
            guard clients.count <= 1 else {
                return HTMLPage.error(.badRequest, title: "Ambiguous redirect", message: "This sign-in link's address is registered by more than one application, so LockCloud cannot tell which one is asking. Start again from the application.")
            }
            guard let only = clients.first else {
                return HTMLPage.error(.badRequest, title: "Invalid redirect", message: "This sign-in link sends you to an address no application has registered.")
            }
            client = only
        } else {
            guard let clientID = query["client_id"], !query.repeated.contains("client_id"),
                let found = try await services.clients.find(id: clientID)
            else { return HTMLPage.error(.badRequest, title: "Unknown application", message: "This sign-in link names an application LockCloud does not know.") }
            client = found
        }
        guard let redirectURI = query["redirect_uri"], !query.repeated.contains("redirect_uri"),
            client.redirectURIs.contains(redirectURI)
        else { return HTMLPage.error(.badRequest, title: "Invalid redirect", message: "This sign-in link sends you to an address \(client.name) has not registered.") }

        // 2. Everything else is reported to the client's redirect URI.
        let state = query["state"]
        func fail(_ error: String, _ description: String) -> Response {
            Self.redirect(to: redirectURI, with: ["error": error, "error_description": description, "state": state])
        }
        if let name = query.repeated.first { return fail("invalid_request", "Parameter \(name) is repeated.") }
        // The older guide sends no response_type; code is the only one there is.
        guard (query["response_type"] ?? (olderGuideForm ? "code" : nil)) == "code" else {
            return fail("unsupported_response_type", "Only response_type=code is supported.")
        }
        guard let scopes = Scope.parse(query["scope"]) else {
            return fail("invalid_scope", "Supported scopes: \(Scope.allCases.map(\.rawValue).joined(separator: " ")).")
        }
        var challenge: String?
        if let value = query["code_challenge"] {
            guard (query["code_challenge_method"] ?? "plain") == "S256" else {
                return fail("invalid_request", "code_challenge_method must be S256.")
            }
            guard value.count == 43, value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
                return fail("invalid_request", "code_challenge must be a base64url SHA-256 (43 characters).")
            }
            challenge = value
        } else if query["code_challenge_method"] != nil {
            return fail("invalid_request", "code_challenge_method without code_challenge.")
        }
        if let state, state.count > 2000 { return fail("invalid_request", "state is too long.") }

        let forceLogin = query["prompt"]?.split(separator: " ").contains("login") ?? false
        var ownerID: UUID?
        let session = forceLogin ? nil : request.cookies[sessionCookie]?.value
        if let session {
            ownerID = try await services.sessions.owner(session: session)
        }
        let handle = try await services.requests.create(
            client: client, redirectURI: redirectURI, scope: Scope.format(scopes), state: state, codeChallenge: challenge,
            forceLogin: forceLogin, ownerID: ownerID, session: session, olderGuideForm: olderGuideForm)
        var response = try await page(for: handle, message: nil)
        response.headers.append(HTTPField(name: .setCookie, value: cookie(requestCookie, handle, maxAge: AuthorizationRequestStore.lifetimeSeconds)))
        return response
    }

    /// Shows the current step again after a POST (the 303 target).
    func continueFlow(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let handle = request.cookies[requestCookie]?.value else { return Self.expired() }
        let message: String? = switch request.uri.queryParameters["notice"] {
        case "failed": "The email or password is incorrect."
        case "throttled": "Too many failed sign-ins. Wait a few minutes, then try again."
        default: nil
        }
        return try await page(for: handle, message: message)
    }

    func submit(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let form: FormParameters
        switch try await FormParameters.read(&request, allowJSON: false, maxBytes: services.maxBodyBytes) {
        case .parameters(let read): form = read
        case .malformedForm, .malformedJSON:
            return HTMLPage.error(.badRequest, title: "Invalid form", message: "The form could not be read. Submit it from the sign-in page.")
        case .unsupportedMediaType:
            return HTMLPage.error(.unsupportedMediaType, title: "Unsupported form", message: "Submit the form from the sign-in page.")
        }
        guard let handle = request.cookies[requestCookie]?.value,
            let (pending, csrfHash) = try await services.requests.find(handle: handle)
        else { return Self.expired() }
        guard let token = form["csrf_token"],
            SecretToken.constantTimeEquals(SecretToken.hash(token).bytes, csrfHash)
        else { return HTMLPage.error(.forbidden, title: "Form expired", message: "This form is no longer valid. Start again from the application.") }

        switch form["action"] {
        case "sign_in":
            // No account has a longer email (254 is the limit), and the throttle stores what it
            // counts: cut it here so a huge form field never reaches the database whole.
            let email = String((form["email"] ?? "").prefix(254))
            let address = services.trustedProxies.clientAddress(peer: context.peerAddress, headers: request.headers)
            if try await services.throttle.isBlocked(email: email, address: address) {
                return Self.seeOther(continuePath + "?notice=throttled")
            }
            guard let owner = try await services.owners.authenticate(email: email, password: form["password"] ?? "") else {
                try await services.throttle.recordFailure(email: email, address: address)
                return Self.seeOther(continuePath + "?notice=failed")
            }
            let session = try await services.sessions.create(ownerID: owner.id)
            guard let newHandle = try await services.requests.signedIn(handle: handle, ownerID: owner.id, session: session) else {
                return Self.expired()
            }
            var response = Self.seeOther(continuePath)
            response.headers.append(HTTPField(name: .setCookie, value: cookie(sessionCookie, session, maxAge: SessionStore.lifetimeSeconds)))
            response.headers.append(HTTPField(name: .setCookie, value: cookie(requestCookie, newHandle, maxAge: AuthorizationRequestStore.lifetimeSeconds)))
            return response
        case "approve":
            guard let ownerID = pending.ownerID else { return Self.seeOther(continuePath) }
            // Only the browser session that signed in for this request may decide it.
            guard pending.isBound(toSession: request.cookies[sessionCookie]?.value) else { return Self.signInAgain() }
            guard try await services.requests.finish(handle: handle) else { return Self.expired() }
            let code = try await services.tokens.issueCode(for: pending, ownerID: ownerID)
            return Self.redirect(to: pending.redirectURI, with: ["code": code, "state": pending.state])
        case "deny":
            guard pending.ownerID == nil || pending.isBound(toSession: request.cookies[sessionCookie]?.value) else {
                return Self.signInAgain()
            }
            guard try await services.requests.finish(handle: handle) else { return Self.expired() }
            return Self.redirect(to: pending.redirectURI, with: ["error": "access_denied", "state": pending.state])
        default:
            return HTMLPage.error(.badRequest, title: "Unknown action", message: "Submit the form from the sign-in page.")
        }
    }

    /// Sign-in until the owner is known for this request, consent after.
    private func page(for handle: String, message: String?) async throws -> Response {
        guard let (pending, _) = try await services.requests.find(handle: handle) else { return Self.expired() }
        let csrfToken = AuthorizationRequestStore.csrfToken(forHandle: handle)
        guard let ownerID = pending.ownerID, let owner = try await services.owners.find(id: ownerID) else {
            return HTMLPage.signIn(clientName: pending.client.name, csrfToken: csrfToken, action: formAction, message: message, email: "")
        }
        return HTMLPage.consent(
            clientName: pending.client.name, ownerEmail: owner.email, scopes: pending.scope.split(separator: " ").map(String.init),
            csrfToken: csrfToken, action: formAction)
    }

    private func cookie(_ name: String, _ value: String, maxAge: Int) -> String {
        "\(name)=\(value); Path=/; Max-Age=\(maxAge); HttpOnly; SameSite=Lax" + (services.secureCookies ? "; Secure" : "")
    }

    static func expired() -> Response {
        HTMLPage.error(.badRequest, title: "Sign-in expired", message: "This sign-in has expired or was already finished. Start again from the application.")
    }

    static func signInAgain() -> Response {
        HTMLPage.error(.forbidden, title: "Sign in again", message: "This browser is not signed in for this request. Start again from the application.")
    }

    static func seeOther(_ location: String) -> Response {
        var headers = HTMLPage.headers()
        headers[.location] = location
        return Response(status: .seeOther, headers: headers, body: .init())
    }

    /// 303 to the client's redirect URI with parameters appended to its own query.
    /// The URI was checked at client registration (absolute, no fragment), so appending to it
    /// is enough; values are percent-encoded, `+` included, since receivers read it as a space.
    static func redirect(to uri: String, with parameters: [String: String?]) -> Response {
        seeOther(redirectLocation(to: uri, with: parameters))
    }

    static func redirectLocation(to uri: String, with parameters: [String: String?]) -> String {
        let pairs = parameters.sorted(by: { $0.key < $1.key }).compactMap { name, value in value.map { (name: name, value: $0) } }
        guard !pairs.isEmpty else { return uri }
        let separator = !uri.contains("?") ? "?" : (uri.hasSuffix("?") || uri.hasSuffix("&") ? "" : "&")
        return uri + separator + URLFormEncoding.encode(pairs)
    }
}
