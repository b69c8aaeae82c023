import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// One webhook `POST` over a new connection to an address the policy vetted. It never looks a
/// name up: the URL's name goes only into `Host` and, for https, into TLS SNI and the
/// certificate check, so what was checked is what is reached (no DNS rebinding). Redirects are
/// not followed: the status is the answer.
struct WebhookSender: Sendable {
    let tls: NIOSSLContext

    /// `trustRoots`: the system's by default; tests trust their own certificate.
    init(trustRoots: NIOSSLTrustRoots = .default) throws {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = trustRoots
        tls = try NIOSSLContext(configuration: configuration)
    }

    enum Failure: Error, CustomStringConvertible {
        case timedOut
        case closedBeforeAnswering

        var description: String {
            switch self {
            case .timedOut: "the attempt timed out"
            case .closedBeforeAnswering: "the receiver closed the connection without answering"
            }
        }
    }

    /// Sends `body` with `headers` and returns the answer's status. The whole attempt, each
    /// connection included, ends by `timeout`. Vetted addresses are tried in order until one
    /// accepts the connection.
    func post(_ body: [UInt8], headers: [(String, String)], to destination: WebhookURLPolicy.Destination, timeout: TimeAmount)
        async throws -> Int
    {
        let deadline = NIODeadline.now() + timeout
        var lastError: any Error = Failure.timedOut
        for address in destination.addresses {
            let channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>
            do {
                channel = try await connect(to: try Self.socketAddress(address, port: destination.port), destination, by: deadline)
            } catch {
                lastError = error
                continue
            }
            return try await exchange(body, headers: headers, destination, on: channel, by: deadline)
        }
        throw lastError
    }

    private func connect(to address: SocketAddress, _ destination: WebhookURLPolicy.Destination, by deadline: NIODeadline)
        async throws -> NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>
    {
        let remaining = deadline - .now()
        guard remaining > .zero else { throw Failure.timedOut }
        let tls = destination.useTLS ? self.tls : nil
        let serverName = destination.serverName
        return try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(remaining)
            .connect(to: address) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverName))
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                }
            }
    }

    private func exchange(
        _ body: [UInt8], headers: [(String, String)], _ destination: WebhookURLPolicy.Destination,
        on channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>, by deadline: NIODeadline
    ) async throws -> Int {
        // At the deadline the connection is closed, which ends any write or read below.
        let timer = channel.channel.eventLoop.scheduleTask(deadline: deadline) { channel.channel.close(promise: nil) }
        defer { timer.cancel() }
        do {
            return try await channel.executeThenClose { inbound, outbound in
                var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: destination.requestTarget)
                head.headers.add(name: "Host", value: destination.hostHeader)
                for (name, value) in headers { head.headers.add(name: name, value: value) }
                head.headers.add(name: "Content-Length", value: String(body.count))
                head.headers.add(name: "Connection", value: "close")
                // One write and one flush. A receiver may answer and close as soon as it has the
                // body (we asked for `Connection: close`), before our last write completes: that
                // write then fails although the event arrived, so its answer is still read, or the
                // event would be counted as failed and sent twice.
                var writeError: (any Error)?
                do {
                    try await outbound.write(contentsOf: [.head(head), .body(.byteBuffer(ByteBuffer(bytes: body))), .end(nil)])
                } catch {
                    writeError = error
                }
                for try await part in inbound {
                    // 1xx answers are interim; the final status is the one that counts.
                    if case .head(let response) = part, response.status.code >= 200 { return Int(response.status.code) }
                }
                throw writeError ?? Failure.closedBeforeAnswering
            }
        } catch {
            throw NIODeadline.now() >= deadline ? Failure.timedOut : error
        }
    }

    static func socketAddress(_ address: [UInt8], port: Int) throws -> SocketAddress {
        try SocketAddress(ipAddress: WebhookURLPolicy.text(address), port: port)
    }
}
