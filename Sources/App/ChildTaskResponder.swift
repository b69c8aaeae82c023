import Hummingbird

/// Answers the requests under `pathPrefix` (the device gateway) in a child task of the
/// connection's task.
///
/// Why: a Swift task keeps the allocator slabs of the deepest call chain it ever ran until it
/// ends, and a keep-alive connection's task lives as long as the connection. After one request
/// through the middleware chain and a database call, a connection kept about 44 kB; with 10,000
/// locks connected all the time that alone was 440 MB (issue 17; `bench/rss_per_connection.py`).
/// A child task's slabs go when it ends, so a lock's connection keeps only what it holds between
/// requests. API clients are few connections, so their requests skip the extra task.
struct ChildTaskResponder<Inner: HTTPResponder>: HTTPResponder {
    let inner: Inner
    let pathPrefix: String

    func respond(to request: Request, context: Inner.Context) async throws -> Response {
        guard request.uri.path.hasPrefix(pathPrefix) else { return try await inner.respond(to: request, context: context) }
        nonisolated(unsafe) let context = context
        let inner = self.inner
        return try await inChildTask { try await inner.respond(to: request, context: context) }
    }
}

/// Runs `work` in a child task and returns its result: the child's allocator slabs are freed
/// when it ends, not kept by the calling task.
func inChildTask<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await work() }
        return try await group.next()!
    }
}
