import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// A real HTTP or HTTPS receiver on one loopback address, recording what reaches it: the
/// `Host` header, the request target, and (with TLS) the SNI name of each handshake.
final class TestReceiver: Sendable {
    struct Request: Sendable, Equatable {
        let host: String?
        let target: String
    }

    final class Record: Sendable {
        let requests = NIOLockedValueBox<[Request]>([])
        let serverNames = NIOLockedValueBox<[String?]>([])
    }

    let record: Record
    let channel: any Channel
    var port: Int { channel.localAddress?.port ?? 0 }
    var requests: [Request] { record.requests.withLockedValue { $0 } }
    var serverNames: [String?] { record.serverNames.withLockedValue { $0 } }

    private init(record: Record, channel: any Channel) {
        self.record = record
        self.channel = channel
    }

    /// `tls`: a certificate and key to serve https with, else plain http.
    static func start(on host: String, port: Int, tls: (certificate: NIOSSLCertificate, key: NIOSSLPrivateKey)? = nil)
        async throws -> TestReceiver
    {
        let record = Record()
        var context: NIOSSLContext?
        if let tls {
            var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: [.certificate(tls.certificate)], privateKey: .privateKey(tls.key))
            configuration.sslContextCallback = { values, promise in
                record.serverNames.withLockedValue { $0.append(values.serverHostname) }
                promise.succeed(.noChanges)
            }
            context = try NIOSSLContext(configuration: configuration)
        }
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { [context] channel in
                channel.eventLoop.makeCompletedFuture {
                    if let context { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context)) }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Recorder(record: record))
                }
            }
            .bind(host: host, port: port).get()
        return TestReceiver(record: record, channel: channel)
    }

    func stop() async {
        try? await channel.close()
    }

    /// Records each request and answers 204.
    final class Recorder: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let record: Record

        init(record: Record) {
            self.record = record
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                record.requests.withLockedValue { $0.append(Request(host: head.headers.first(name: "Host"), target: head.uri)) }
            case .body:
                break
            case .end:
                let head = HTTPResponseHead(version: .http1_1, status: .noContent, headers: ["Content-Length": "0"])
                context.write(wrapOutboundOut(.head(head)), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}
