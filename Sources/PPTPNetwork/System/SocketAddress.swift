import Glibc
import PPP

/// Calls `body` with a `struct sockaddr_in` for `address` and `port`, built octet by octet
/// (family, port and address in network order, zero padding), so callers need not name the
/// C fields, whose defining module differs between toolchains and build modes.
public func withIPv4SocketAddress<T>(
    _ address: IPv4Address,
    port: UInt16,
    _ body: (UnsafePointer<sockaddr>, socklen_t) throws -> T
) rethrows -> T {
    var storage = [UInt8](repeating: 0, count: 16)
    let family = UInt16(AF_INET)
    storage[0] = UInt8(truncatingIfNeeded: family)
    storage[1] = UInt8(truncatingIfNeeded: family >> 8)
    storage[2] = UInt8(port >> 8)
    storage[3] = UInt8(port & 0xFF)
    for (index, octet) in address.octets.enumerated() { storage[4 + index] = octet }
    // struct sockaddr is 16 octets on Linux, the size of a sockaddr_in.
    var address = sockaddr()
    withUnsafeMutableBytes(of: &address) { target in
        for index in 0..<min(target.count, storage.count) { target[index] = storage[index] }
    }
    return try withUnsafePointer(to: &address) { try body($0, socklen_t(16)) }
}
