import Crypto
import Foundation
import Glibc
import PPP
import PPTPNetwork

/// ICMP echo and TCP transfers run from inside a namespace (on a thread that entered it), so
/// the demo and the tests need no external tools.
public enum Probes {
    /// Sends `count` ICMP echo requests from `namespace` to `address`; returns the round-trip
    /// times of the answered ones, in seconds.
    /// With `randomPayload` each request carries fresh random octets and a reply counts only if
    /// it echoes them exactly: an integrity check of the tunnel in both directions.
    public static func ping(
        from namespace: NetworkNamespace,
        to address: IPv4Address,
        count: Int = 3,
        payload: Int = 56,
        timeout: Double = 1,
        randomPayload: Bool = false
    ) throws -> [Double] {
        try namespace.run {
            let fd = socket(AF_INET, Int32(SOCK_RAW.rawValue), Int32(IPPROTO_ICMP))
            guard fd >= 0 else { throw TestbedError.socket("socket(ICMP)", errno) }
            defer { close(fd) }
            let identifier = UInt16(truncatingIfNeeded: getpid())
            var rtts: [Double] = []
            for sequence in 0..<count {
                var packet = [UInt8](repeating: 0, count: 8 + payload)
                packet[0] = 8  // echo request
                packet[4] = UInt8(identifier >> 8)
                packet[5] = UInt8(identifier & 0xFF)
                packet[6] = UInt8(sequence >> 8)
                packet[7] = UInt8(sequence & 0xFF)
                for i in 0..<payload {
                    packet[8 + i] = randomPayload ? UInt8.random(in: 0...255) : UInt8(truncatingIfNeeded: i)
                }
                let sum = checksum(packet)
                packet[2] = UInt8(sum >> 8)
                packet[3] = UInt8(sum & 0xFF)
                let start = Date()
                let sent = packet.withUnsafeBytes { bytes in
                    withIPv4SocketAddress(address, port: 0) { sendto(fd, bytes.baseAddress, bytes.count, 0, $0, $1) }
                }
                guard sent == packet.count else { continue }
                var buffer = [UInt8](repeating: 0, count: 65536)
                while Date().timeIntervalSince(start) < timeout {
                    var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                    let remaining = Int32(max(1, (timeout - Date().timeIntervalSince(start)) * 1000))
                    guard poll(&poller, 1, remaining) > 0 else { break }
                    let length = recv(fd, &buffer, buffer.count, 0)
                    guard length > 20 else { continue }
                    let headerLength = Int(buffer[0] & 0x0F) * 4
                    guard length >= headerLength + 8, buffer[headerLength] == 0,
                        UInt16(buffer[headerLength + 4]) << 8 | UInt16(buffer[headerLength + 5]) == identifier,
                        Int(UInt16(buffer[headerLength + 6]) << 8 | UInt16(buffer[headerLength + 7])) == sequence,
                        length - headerLength == packet.count,
                        Array(buffer[(headerLength + 8)..<length]) == Array(packet[8...])
                    else { continue }
                    rtts.append(Date().timeIntervalSince(start))
                    break
                }
            }
            return rtts
        }
    }

    static func checksum(_ bytes: [UInt8]) -> UInt16 {
        bytes.withUnsafeBytes { IPv4Packet.checksum($0) }
    }

    /// The result of a TCP transfer.
    public struct Transfer: Sendable {
        public var bytesSent: Int
        public var bytesReceived: Int
        public var sentDigest: String
        public var receivedDigest: String
        public var seconds: Double
        public var megabitsPerSecond: Double { seconds > 0 ? Double(bytesReceived) * 8 / seconds / 1e6 : 0 }
        public var intact: Bool { bytesSent == bytesReceived && sentDigest == receivedDigest }
    }

    /// Sends `bytes` pseudo-random octets over TCP from `sender` to `address:port` in
    /// `receiver`, where a listener hashes what arrives; SHA-256 both ways.
    public static func transfer(
        from sender: NetworkNamespace,
        to receiver: NetworkNamespace,
        address: IPv4Address,
        port: UInt16 = 5001,
        bytes: Int,
        timeout: Double = 120
    ) throws -> Transfer {
        // The listener is created inside the receiver's namespace and served by a thread there.
        let listener: Int32 = try receiver.run {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw TestbedError.socket("socket", errno) }
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            let bound = withIPv4SocketAddress(address, port: port) { bind(fd, $0, $1) }
            guard bound == 0, listen(fd, 1) == 0 else {
                let error = errno
                close(fd)
                throw TestbedError.socket("bind/listen", error)
            }
            return fd
        }
        let received = ReceiveState()
        let receiverThread = try NamedThread.start(name: "tb-recv") {
            let connection = accept(listener, nil, nil)
            close(listener)
            guard connection >= 0 else { return }
            var hasher = SHA256()
            var buffer = [UInt8](repeating: 0, count: 65536)
            var total = 0
            while true {
                let n = buffer.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
                if n <= 0 { break }
                total += n
                buffer.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0.prefix(n))) }
            }
            close(connection)
            received.finish(total: total, digest: hasher.finalize().map { String(format: "%02x", $0) }.joined())
        }
        let start = Date()
        let (sentBytes, sentDigest): (Int, String) = try sender.run {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw TestbedError.socket("socket", errno) }
            defer { close(fd) }
            var timeoutValue = timeval(tv_sec: Int(timeout), tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeoutValue, socklen_t(MemoryLayout<timeval>.size))
            let connected = withIPv4SocketAddress(address, port: port) { connect(fd, $0, $1) }
            guard connected == 0 else { throw TestbedError.socket("connect", errno) }
            var hasher = SHA256()
            var generator = SplitMix64(seed: 0x5EED)
            var chunk = [UInt8](repeating: 0, count: 65536)
            var sent = 0
            while sent < bytes {
                let size = min(chunk.count, bytes - sent)
                for i in stride(from: 0, to: size, by: 8) {
                    let value = generator.next()
                    for j in 0..<min(8, size - i) { chunk[i + j] = UInt8(truncatingIfNeeded: value >> (8 * j)) }
                }
                chunk.withUnsafeBytes {
                    hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0.prefix(size)))
                }
                var offset = 0
                while offset < size {
                    let n = chunk.withUnsafeBytes {
                        let rest = UnsafeRawBufferPointer(rebasing: $0[offset..<size])
                        return send(fd, rest.baseAddress, rest.count, Int32(MSG_NOSIGNAL))
                    }
                    guard n > 0 else { throw TestbedError.socket("send", errno) }
                    offset += n
                }
                sent += size
            }
            shutdown(fd, Int32(SHUT_WR))
            // Wait for the receiver to close, so the time covers delivery.
            var byte: UInt8 = 0
            _ = recv(fd, &byte, 1, 0)
            return (sent, hasher.finalize().map { String(format: "%02x", $0) }.joined())
        }
        receiverThread.join()
        let seconds = Date().timeIntervalSince(start)
        let (total, digest) = received.result
        return Transfer(
            bytesSent: sentBytes,
            bytesReceived: total,
            sentDigest: sentDigest,
            receivedDigest: digest,
            seconds: seconds
        )
    }

    /// Moves `bytes` pseudo-random octets to `address` and back as ICMP echo requests of `payload` octets, up to
    /// `window` of them in flight, and hashes what was sent and what the echoes carried back, in sequence order
    /// (SHA-256 both ways). For a peer where no TCP receiver of ours can run (a real server in the lab VM): the
    /// peer's own IP stack is the far end. A request without an echo within a second is sent again, three times
    /// at most.
    public static func echoTransfer(
        from namespace: NetworkNamespace,
        to address: IPv4Address,
        bytes: Int,
        payload: Int = 1372,
        window: Int = 32,
        timeout: Double = 300
    ) throws -> Transfer {
        let count = (bytes + payload - 1) / payload
        guard count <= Int(UInt16.max) else { throw TestbedError.socket("echoTransfer: too many packets", EINVAL) }
        let seed = UInt64.random(in: 0...UInt64.max)
        @Sendable func chunk(_ index: Int) -> [UInt8] {
            var generator = SplitMix64(seed: seed &+ UInt64(index))
            let size = index == count - 1 ? bytes - payload * (count - 1) : payload
            return (0..<size).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        }
        let start = Date()
        let echoed: [[UInt8]?] = try namespace.run {
            let fd = socket(AF_INET, Int32(SOCK_RAW.rawValue), Int32(IPPROTO_ICMP))
            guard fd >= 0 else { throw TestbedError.socket("socket(ICMP)", errno) }
            defer { close(fd) }
            let identifier = UInt16(truncatingIfNeeded: getpid() &+ 0x4000)
            var echoed = [[UInt8]?](repeating: nil, count: count)
            var sentAt: [Int: (time: Date, tries: Int)] = [:]
            var next = 0
            var done = 0
            func send(_ index: Int) {
                var packet: [UInt8] = [
                    8, 0, 0, 0, UInt8(identifier >> 8), UInt8(identifier & 0xFF), UInt8(index >> 8),
                    UInt8(index & 0xFF),
                ]
                packet += chunk(index)
                let sum = checksum(packet)
                packet[2] = UInt8(sum >> 8)
                packet[3] = UInt8(sum & 0xFF)
                _ = packet.withUnsafeBytes { bytes in
                    withIPv4SocketAddress(address, port: 0) { sendto(fd, bytes.baseAddress, bytes.count, 0, $0, $1) }
                }
                sentAt[index] = (Date(), (sentAt[index]?.tries ?? 0) + 1)
            }
            var buffer = [UInt8](repeating: 0, count: 65536)
            while done < count && Date().timeIntervalSince(start) < timeout {
                while sentAt.count < window && next < count {
                    send(next)
                    next += 1
                }
                for (index, entry) in sentAt where Date().timeIntervalSince(entry.time) > 1 {
                    if entry.tries >= 4 {
                        sentAt[index] = nil
                        done += 1
                    } else {
                        send(index)
                    }
                }
                var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&poller, 1, 100) > 0 else { continue }
                let length = recv(fd, &buffer, buffer.count, 0)
                guard length > 28 else { continue }
                let headerLength = Int(buffer[0] & 0x0F) * 4
                guard length >= headerLength + 8, buffer[headerLength] == 0,
                    UInt16(buffer[headerLength + 4]) << 8 | UInt16(buffer[headerLength + 5]) == identifier
                else { continue }
                let index = Int(UInt16(buffer[headerLength + 6]) << 8 | UInt16(buffer[headerLength + 7]))
                guard index < count, echoed[index] == nil, sentAt.removeValue(forKey: index) != nil else { continue }
                echoed[index] = Array(buffer[(headerLength + 8)..<length])
                done += 1
            }
            return echoed
        }
        var sentHasher = SHA256()
        var receivedHasher = SHA256()
        var received = 0
        for index in 0..<count {
            sentHasher.update(data: chunk(index))
            if let back = echoed[index] {
                receivedHasher.update(data: back)
                received += back.count
            }
        }
        return Transfer(
            bytesSent: bytes,
            bytesReceived: received,
            sentDigest: sentHasher.finalize().map { String(format: "%02x", $0) }.joined(),
            receivedDigest: receivedHasher.finalize().map { String(format: "%02x", $0) }.joined(),
            seconds: Date().timeIntervalSince(start)
        )
    }

    final class ReceiveState: @unchecked Sendable {
        // Written once by the receiver thread before it ends, read after join().
        private(set) var result: (Int, String) = (0, "")
        func finish(total: Int, digest: String) { result = (total, digest) }
    }

}
