import HTTPTypes
import Hummingbird
import NIOConcurrencyHelpers
import OpenAPIHummingbird
import OpenAPIRuntime

/// The operations the API serves, recorded as the generated code registers them, so an unknown
/// method on a known path can be told apart from an unknown path (405 with `Allow` vs 404).
final class RouteTable: Sendable {
    private let routes = NIOLockedValueBox<[(segments: [Substring], method: HTTPRequest.Method)]>([])

    func record(path: String, method: HTTPRequest.Method) {
        routes.withLockedValue { $0.append((Self.segments(path), method)) }
    }

    /// Registers a hand-written route on the router and records it here.
    func add(
        _ path: String, _ method: HTTPRequest.Method, on router: Router<AppRequestContext>,
        use handler: @escaping @Sendable (Request, AppRequestContext) async throws -> Response
    ) {
        record(path: path, method: method)
        router.on(RouterPath(path), method: method, use: handler)
    }

    /// Methods served at a concrete request path, in registration order; empty for an unknown path.
    func methods(forPath path: String) -> [HTTPRequest.Method] {
        let requestSegments = Self.segments(path)
        return routes.withLockedValue { routes in
            var methods: [HTTPRequest.Method] = []
            for route in routes where Self.matches(route.segments, requestSegments) && !methods.contains(route.method) {
                methods.append(route.method)
            }
            return methods
        }
    }

    private static func segments(_ path: String) -> [Substring] {
        path.split(separator: "/", omittingEmptySubsequences: true)
    }

    private static func matches(_ template: [Substring], _ path: [Substring]) -> Bool {
        guard template.count == path.count else { return false }
        for (expected, actual) in zip(template, path) {
            let isParameter = (expected.first == "{" && expected.last == "}") || expected.first == ":"
            if !isParameter && expected != actual { return false }
        }
        return true
    }
}

/// Registers generated handlers on the router and records each in the route table.
struct RecordingTransport: ServerTransport {
    let router: Router<AppRequestContext>
    let table: RouteTable

    func register(
        _ handler: @escaping @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?),
        method: HTTPRequest.Method,
        path: String
    ) throws {
        table.record(path: path, method: method)
        router.register(handler, method: method, path: path)
    }
}
