import Glibc
import NIOCore
import PPP
import PPTP
import PPTPNetwork

/// Runs a `ProbeSession` against a real server with plain blocking sockets on the calling
/// thread: a TCP connection and a raw GRE socket, polled together.
public enum ProbeRunner {
    public static func run(server: String, port: Int = 1723, greTimeout: TimeAmount = .seconds(10)) -> ProbeReport {
        var report = ProbeReport(server: server, port: port)
        guard let address = resolve(server) else {
            report.outcome = "cannot resolve the server name \"\(server)\""
            report.exitCode = 3
            return report
        }
        let gre: RawGRESocket
        do {
            gre = try RawGRESocket(remote: nil)
        } catch {
            report.outcome = "cannot open a raw GRE socket (are we root?): \(error)"
            report.exitCode = 1
            return report
        }
        defer { gre.close() }
        let tcp: Int32
        switch connect(address, port: port, timeoutMilliseconds: 10_000) {
        case .success(let fd): tcp = fd
        case .failure(let message):
            report.outcome = message
            report.exitCode = 4
            return report
        }
        defer { close(tcp) }

        var session = ProbeSession(
            server: address.description,
            port: port,
            callID: UInt16.random(in: 1...UInt16.max),
            magic: UInt32.random(in: 1...UInt32.max),
            greTimeout: greTimeout
        )
        guard let batch = try? PacketBatch(capacity: 16) else { return session.report }
        var actions = session.start(now: .now())
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            for action in actions {
                switch action {
                case .sendControl(let bytes):
                    let data = Array(bytes.readableBytesView)
                    _ = data.withUnsafeBytes { send(tcp, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                case .sendGRE(let bytes):
                    let data = Array(bytes.readableBytesView)
                    _ = data.withUnsafeBytes { try? gre.send($0, to: address) }
                case .finish:
                    return session.report
                }
            }
            actions = []
            if session.finished { return session.report }
            let now = NIODeadline.now()
            let wait = session.nextDeadline.map { max(0, Int32(min(1000, ($0 - now).nanoseconds / 1_000_000))) } ?? 1000
            var fds = [
                pollfd(fd: tcp, events: Int16(POLLIN), revents: 0),
                pollfd(fd: gre.fileDescriptor, events: Int16(POLLIN), revents: 0),
            ]
            _ = poll(&fds, 2, wait)
            let woke = NIODeadline.now()
            if fds[0].revents != 0 {
                let n = buffer.withUnsafeMutableBytes { recv(tcp, $0.baseAddress, $0.count, 0) }
                if n > 0 {
                    actions += session.receiveControl(Array(buffer[0..<n]), now: woke)
                } else {
                    actions += session.controlClosed(now: woke)
                }
            }
            if fds[1].revents != 0, let count = try? gre.receive(into: batch) {
                for slot in 0..<count where batch[slot].peer == address {
                    actions += session.receiveGRE(Array(batch.packet(slot)), now: woke)
                }
            }
            actions += session.timeout(now: woke)
        }
    }

    static func resolve(_ name: String) -> IPv4Address? {
        if let literal = IPv4Address(name) { return literal }
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(name, nil, &hints, &result) == 0, let first = result else { return nil }
        defer { freeaddrinfo(result) }
        guard let address = first.pointee.ai_addr else { return nil }
        // struct sockaddr_in: family (2), port (2), then the address in network order.
        let value = UInt32(bigEndian: UnsafeRawPointer(address).loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        return IPv4Address(rawValue: value)
    }

    enum Connect {
        case success(Int32)
        case failure(String)
    }

    static func connect(_ address: IPv4Address, port: Int, timeoutMilliseconds: Int32) -> Connect {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { return .failure("socket: \(String(cString: strerror(errno)))") }
        let result = withIPv4SocketAddress(address, port: UInt16(port)) { Glibc.connect(fd, $0, $1) }
        if result != 0 && errno != EINPROGRESS {
            let error = errno
            close(fd)
            return .failure(describe(error, address, port))
        }
        var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        guard poll(&poller, 1, timeoutMilliseconds) > 0 else {
            close(fd)
            return .failure(
                "no answer from \(address):\(port) within \(timeoutMilliseconds / 1000) s (filtered or unreachable)"
            )
        }
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
        guard error == 0 else {
            close(fd)
            return .failure(describe(error, address, port))
        }
        // Back to blocking I/O for the simple loop.
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        return .success(fd)
    }

    static func describe(_ error: Int32, _ address: IPv4Address, _ port: Int) -> String {
        if error == ECONNREFUSED {
            return "\(address):\(port) refused the connection: no PPTP server there, or a firewall rejects it"
        }
        return "cannot reach \(address):\(port): \(String(cString: strerror(error)))"
    }
}
