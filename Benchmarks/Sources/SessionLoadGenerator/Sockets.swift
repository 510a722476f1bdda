import Glibc
import PPP
import PPTPNetwork

/// linux/in.h: IP_BIND_ADDRESS_NO_PORT (Linux 4.2). With it, `bind(source, port 0)` leaves the port to `connect`,
/// which then only needs the 4-tuple to be unique rather than the port to be free on the source address.
private let ipBindAddressNoPort: Int32 = 24

/// The outcome of starting a non-blocking connect.
enum ConnectStart {
    case inProgress(Int32)
    case failed(String)
}

/// A non-blocking TCP socket bound to `source`, connecting to `server`:`port`.
func startConnect(from source: IPv4Address, to server: IPv4Address, port: UInt16) -> ConnectStart {
    let fd = socket(
        AF_INET,
        Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue),
        0
    )
    guard fd >= 0 else { return .failed("socket: \(errorText(errno))") }
    var one: Int32 = 1
    let size = socklen_t(MemoryLayout<Int32>.size)
    _ = setsockopt(fd, Int32(IPPROTO_IP), ipBindAddressNoPort, &one, size)
    _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, size)
    let bound = withIPv4SocketAddress(source, port: 0) { bind(fd, $0, $1) }
    guard bound == 0 else {
        let text = "bind \(source): \(errorText(errno))"
        close(fd)
        return .failed(text)
    }
    let result = withIPv4SocketAddress(server, port: port) { connect(fd, $0, $1) }
    if result == 0 || errno == EINPROGRESS { return .inProgress(fd) }
    let text = "connect from \(source): \(errorText(errno))"
    close(fd)
    return .failed(text)
}

/// SO_ERROR of a socket: 0 once a non-blocking connect succeeded.
func socketError(_ fd: Int32) -> Int32 {
    var value: Int32 = 0
    var length = socklen_t(MemoryLayout<Int32>.size)
    guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &length) == 0 else { return errno }
    return value
}

func errorText(_ code: Int32) -> String {
    String(cString: strerror(code))
}
