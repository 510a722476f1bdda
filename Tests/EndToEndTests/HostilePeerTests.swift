import Foundation
import Glibc
import NIOCore
import PPP
import PPTP
import PPTPNetwork
import PPTPTestbed
import Testing

/// What a hostile run against `pptp serve` (MS-CHAPv2 + MPPE-128 required) found (issue 22,
/// items 5–11), each attack replayed against the real server process in namespaces. Every case
/// checks what the server did (its memory, its log, who still gets in), not only that it lived.
@Suite(.serialized) struct HostilePeerTests {
    /// The resident memory of a process, in KiB (VmRSS of /proc/PID/status).
    static func residentKiB(_ pid: pid_t) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return 0 }
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    /// A TCP connection from `namespace` to the server's port 1723, or -1.
    static func connectControl(to server: IPv4Address, receiveBuffer: Int32? = nil) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return -1 }
        if var size = receiveBuffer {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        guard withIPv4SocketAddress(server, port: 1723, { connect(fd, $0, $1) }) == 0 else {
            close(fd)
            return -1
        }
        return fd
    }

    /// Item 5: SCCRQ, then Echo-Requests as fast as the socket takes them, never reading. Before:
    /// 28 MB → 1.1–1.2 GB in 10 s, nothing logged. Now the server stops reading once 64 KiB of
    /// replies wait, and closes the connection after the handshake time-out with a log line.
    @Test func echoRequestFloodFromAPeerThatNeverReadsIsBoundedAndClosed() throws {
        guard EndToEnd.enabled else { return }
        let bed = try EndToEnd.testbed()
        defer { bed.tearDown() }
        try bed.writeServerConfiguration(users: [(user: "alice", secret: "x")], extra: "[limits]\nhandshake_timeout = 3")
        let process = try bed.startServer()
        let before = Self.residentKiB(process.pid)
        let server = bed.serverAddress
        let pid = process.pid
        let (sent, peak, closed): (Int, Int, Bool) = try bed.clientNamespaces[0].run {
            let fd = Self.connectControl(to: server, receiveBuffer: 4096)
            guard fd >= 0 else { return (0, 0, false) }
            defer { close(fd) }
            var timeout = timeval(tv_sec: 1, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var stream = Array(ControlMessage.startControlConnectionRequest(.init()).serialized().readableBytesView)
            let echo = Array(ControlMessage.echoRequest(.init(identifier: 7)).serialized().readableBytesView)
            for _ in 0..<4096 { stream += echo }  // 64 KiB of Echo-Requests a write
            var sent = 0
            var peak = 0
            let end = Date().addingTimeInterval(30)
            while Date() < end {
                let n = stream.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if n > 0 {
                    sent += n
                    if stream.count > echo.count * 4096 { stream.removeFirst(stream.count - echo.count * 4096) }
                } else if errno != EAGAIN && errno != EWOULDBLOCK {
                    return (sent, peak, true)  // reset or closed by the server
                }
                peak = max(peak, Self.residentKiB(pid))
            }
            return (sent, peak, false)
        }
        print("echo flood: \(sent) octets sent; server resident \(before) KiB before, \(peak) KiB at most")
        #expect(sent > 1 << 20, "the flood got going (\(sent) octets)")
        #expect(closed, "the server closed the connection of the peer that did not read")
        // Bounded: what the kernel's socket buffers hold is not the server's; its own memory grows
        // by little more than the 64 KiB write queue (allocator slack and the decoder included).
        #expect(peak - before < 32 * 1024, "resident memory grew from \(before) KiB to \(peak) KiB")
        #expect(bed.log(bed.serverLog).contains("has not read our replies"), "\(bed.log(bed.serverLog))")
    }
}
