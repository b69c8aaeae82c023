import Hummingbird
import NIOCore

/// The per-request context: Hummingbird's core storage plus the socket peer's address, from
/// which sign-in throttling finds the client's (TrustedProxies).
struct AppRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?

    init(source: Source) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// The socket peer's IP address as text; nil when the socket has none.
    var peerAddress: String? { remoteAddress?.ipAddress }
}
