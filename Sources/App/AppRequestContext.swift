import Hummingbird
import NIOCore

/// The per-request context: Hummingbird's core storage plus the peer address, which sign-in
/// throttling counts failures by.
struct AppRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?

    init(source: Source) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// The client's IP address as text, for throttling; "unknown" when the socket has none.
    var clientAddress: String {
        remoteAddress?.ipAddress ?? "unknown"
    }
}
