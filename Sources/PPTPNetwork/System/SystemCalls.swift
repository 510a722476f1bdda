import CPPTPNetwork
import Glibc
import SystemPackage

/// Runs a system call that returns -1 and sets `errno` on failure, retrying on EINTR.
@inline(__always)
@usableFromInline
func systemCall<T: FixedWidthInteger>(_ call: SystemCall, _ body: () -> T) throws(NetworkError) -> T {
    while true {
        let result = body()
        if result >= 0 { return result }
        let error = Errno(rawValue: errno)
        if error == .interrupted { continue }
        throw .system(call, error)
    }
}

/// Like `systemCall`, but returns nil when the call would block (EAGAIN/EWOULDBLOCK), the normal
/// outcome on a non-blocking descriptor with nothing to read or no room to write.
@inline(__always)
@usableFromInline
func nonBlockingSystemCall<T: FixedWidthInteger>(
    _ call: SystemCall,
    _ body: () -> T
) throws(NetworkError) -> T? {
    while true {
        let result = body()
        if result >= 0 { return result }
        let error = Errno(rawValue: errno)
        switch error {
        case .interrupted: continue
        case .wouldBlock, .resourceTemporarilyUnavailable: return nil
        default: throw .system(call, error)
        }
    }
}

/// Closes a descriptor, ignoring EINTR (Linux always releases the descriptor, close(2)).
@usableFromInline
func closeDescriptor(_ fd: Int32) {
    _ = Glibc.close(fd)
}

extension sockaddr_in {
    /// An AF_INET socket address for `address` and `port` (both given in host order).
    @inlinable
    init(_ address: UInt32, port: UInt16 = 0) {
        self.init()
        sin_family = sa_family_t(AF_INET)
        sin_port = port.bigEndian
        sin_addr = in_addr(s_addr: address.bigEndian)
    }
}

/// Opens a file read-only and returns all of its bytes, or nil when it does not exist.
func readWholeFile(_ path: String) throws(NetworkError) -> [UInt8]? {
    let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
    if fd < 0 {
        let error = Errno(rawValue: errno)
        if error == .noSuchFileOrDirectory { return nil }
        throw .system(.open, error)
    }
    defer { closeDescriptor(fd) }
    let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 8)
    defer { chunk.deallocate() }
    var bytes: [UInt8] = []
    while true {
        let count = try systemCall(.read) { Glibc.read(fd, chunk.baseAddress, chunk.count) }
        if count == 0 { return bytes }
        bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[0..<count]))
    }
}

/// Writes `bytes` to a descriptor completely.
func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(NetworkError) {
    var offset = 0
    while offset < bytes.count {
        let result = bytes.withUnsafeBytes { buffer in
            let rest = UnsafeRawBufferPointer(rebasing: buffer[offset...])
            return Result { () throws(NetworkError) in
                try systemCall(.write) { Glibc.write(fd, rest.baseAddress, rest.count) }
            }
        }
        offset += try result.get()
    }
}
