import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole-file reading and writing for captures, with `errno` reported as `CaptureError.fileSystem`.
public enum CaptureFile {
    /// Reads the whole file at `path`.
    public static func read(path: String) throws(CaptureError) -> ByteBuffer {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw .fileSystem(errno: errno) }
        defer { _ = close(descriptor) }
        var buffer = ByteBuffer()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glue.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .fileSystem(errno: errno)
            }
            if count == 0 { return buffer }
            buffer.writeBytes(chunk.prefix(count))
        }
    }

    /// Writes `bytes` to `path`, replacing any file there (mode 0644 before the umask).
    public static func write(_ bytes: ByteBuffer, to path: String) throws(CaptureError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else { throw .fileSystem(errno: errno) }
        var remaining = bytes
        while remaining.readableBytes > 0 {
            let count = remaining.withUnsafeReadableBytes { Glue.write(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                let failure = errno
                _ = close(descriptor)
                throw .fileSystem(errno: failure)
            }
            remaining.moveReaderIndex(forwardBy: count)
        }
        guard close(descriptor) == 0 else { throw .fileSystem(errno: errno) }
    }

    /// The C library's `read` and `write`, named apart from this type's own `read` and `write`.
    private enum Glue {
        static func read(_ descriptor: Int32, _ address: UnsafeMutableRawPointer?, _ count: Int) -> Int {
            #if canImport(Darwin)
            Darwin.read(descriptor, address, count)
            #elseif canImport(Musl)
            Musl.read(descriptor, address, count)
            #else
            Glibc.read(descriptor, address, count)
            #endif
        }

        static func write(_ descriptor: Int32, _ address: UnsafeRawPointer?, _ count: Int) -> Int {
            #if canImport(Darwin)
            Darwin.write(descriptor, address, count)
            #elseif canImport(Musl)
            Musl.write(descriptor, address, count)
            #else
            Glibc.write(descriptor, address, count)
            #endif
        }
    }
}
