import Foundation
import NIOConcurrencyHelpers
@testable import Postgres

#if canImport(Glibc)
import Glibc
#endif

/// A TCP proxy in front of the test database that can stop forwarding on the connections it
/// has: to libpq that is a half-open connection (a peer that silently stops answering, as after
/// a network partition), which no server-side timeout can end. Connections opened after
/// `freezeOpenConnections` forward normally, as if the path had healed for new ones.
final class TCPProxy: Sendable {
    private final class Pair: Sendable {
        let client: Int32
        let server: Int32
        let frozen = NIOLockedValueBox(false)
        init(client: Int32, server: Int32) { self.client = client; self.server = server }
    }

    let port: Int
    private let upstreamPort: UInt16
    private let listener: Int32
    private let pairs = NIOLockedValueBox<[Pair]>([])
    private let stopped = NIOLockedValueBox(false)

    /// A proxy to the host and port of `url` (a local PostgreSQL).
    init(to url: String) throws {
        guard let port = URLComponents(string: url)?.port else { throw PostgresError(.misuse, "no port in \(url)") }
        upstreamPort = UInt16(port)
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = Self.loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listening = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(listener, pointer, length) == 0 && getsockname(listener, pointer, &length) == 0
                    && listen(listener, 16) == 0
            }
        }
        guard listening else {
            close(listener)
            throw PostgresError(.misuse, "proxy could not listen: errno \(errno)")
        }
        self.listener = listener
        self.port = Int(UInt16(bigEndian: address.sin_port))
        Thread { [self] in acceptLoop() }.start()
    }

    /// `url` with the proxy as its host and port.
    func url(for url: String) throws -> String {
        guard var components = URLComponents(string: url) else { throw PostgresError(.misuse, "bad URL \(url)") }
        components.host = "127.0.0.1"
        components.port = port
        return components.string!
    }

    /// Stops forwarding in both directions on every connection open now, keeping their
    /// sockets open: nothing is refused or reset, bytes just stop arriving.
    func freezeOpenConnections() {
        pairs.withLockedValue { $0.forEach { $0.frozen.withLockedValue { $0 = true } } }
    }

    func stop() {
        stopped.withLockedValue { $0 = true }
    }

    private static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        return address
    }

    private func acceptLoop() {
        defer { close(listener) }
        while !stopped.withLockedValue({ $0 }) {
            var ready = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&ready, 1, 100) > 0 else { continue }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = Self.loopback(port: upstreamPort)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
                }
            }
            guard connected else {
                close(client)
                close(server)
                continue
            }
            let pair = Pair(client: client, server: server)
            pairs.withLockedValue { $0.append(pair) }
            Thread { [self] in forward(pair) }.start()
        }
    }

    /// Copies bytes both ways until either side closes or the proxy stops; while frozen, only
    /// waits.
    private func forward(_ pair: Pair) {
        defer {
            close(pair.client)
            close(pair.server)
        }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while !stopped.withLockedValue({ $0 }) {
            if pair.frozen.withLockedValue({ $0 }) {
                usleep(50_000)
                continue
            }
            var descriptors = [
                pollfd(fd: pair.client, events: Int16(POLLIN), revents: 0),
                pollfd(fd: pair.server, events: Int16(POLLIN), revents: 0),
            ]
            guard poll(&descriptors, 2, 100) > 0 else { continue }
            for (from, to) in [(0, 1), (1, 0)] where descriptors[from].revents != 0 {
                let count = read(descriptors[from].fd, &buffer, buffer.count)
                guard count > 0 else { return }
                var written = 0
                while written < count {
                    let sent = buffer.withUnsafeBytes { write(descriptors[to].fd, $0.baseAddress! + written, count - written) }
                    guard sent > 0 else { return }
                    written += sent
                }
            }
        }
    }
}
