import Hummingbird
import HTTPTypes

/// The authorization server's routes. They are plain Hummingbird routes, not generated ones:
/// HTML pages with cookies and redirects, and a token endpoint that reads HTTP Basic
/// credentials, which OpenAPI cannot declare as a parameter. openapi/openapi.yaml still
/// describes each of them, and the contract run exercises them.
func registerOAuthRoutes(on router: Router<AppRequestContext>, routes: RouteTable, services: OAuthServices, basePath: String) {
    let pages = OAuthAuthorizePages(services: services)
    let endpoints = OAuthTokenEndpoints(services: services)
    func add(_ path: String, _ method: HTTPRequest.Method,
             _ handler: @escaping @Sendable (Request, AppRequestContext) async throws -> Response) {
        routes.add(basePath + path, method, on: router, use: handler)
    }
    add("/oauth/authorize", .get, pages.authorize)
    add("/authorize", .get, pages.authorize)
    add("/oauth/authorize", .post, pages.submit)
    add("/oauth/authorize/continue", .get, pages.continueFlow)
    add("/oauth/token", .post, endpoints.token)
    add("/oauth/revoke", .post, endpoints.revoke)
    add("/.well-known/oauth-authorization-server", .get, endpoints.metadata)
}
