import CPPTPNetwork
import Glibc
import PPP
import Synchronization
import SystemPackage

/// One raw IPv4 socket for protocol 47 (GRE), shared by all calls of a process
/// (`socket(AF_INET, SOCK_RAW, IPPROTO_GRE)`, raw(7)). The kernel here has no GRE module, so
/// every GRE datagram for this host reaches the socket; demultiplexing by (peer, Call ID) is the
/// caller's.
///
/// Receipt is batched with recvmmsg(2) and sending with sendmmsg(2) into and from a
/// `PacketBatch`; neither allocates. On receipt the kernel delivers the IP header: it is parsed
/// with bounds checks and the slot's metadata points at the GRE packet after it. On sending the
/// kernel adds the IP header (no IP_HDRINCL).
///
/// The descriptor is non-blocking; `fileDescriptor` is for epoll. Needs CAP_NET_RAW.
public final class RawGRESocket: Sendable {
    /// Counters since the socket was opened.
    public struct Statistics: Hashable, Sendable {
        public var packetsReceived: UInt64 = 0
        public var bytesReceived: UInt64 = 0
        public var packetsSent: UInt64 = 0
        public var bytesSent: UInt64 = 0
        /// Datagrams dropped on sending (an error for that one datagram, e.g. EHOSTUNREACH).
        public var sendErrors: UInt64 = 0
        /// Errors reported by the socket on receipt (ICMP errors queued on it, ENOBUFS…).
        public var receiveErrors: UInt64 = 0
        /// Datagrams whose IP header was short or malformed, whose Total Length disagreed with
        /// what arrived, that were fragments, or that were not GRE.
        public var invalidIPHeaders: UInt64 = 0
        /// Datagrams longer than the slot buffer (MSG_TRUNC), dropped.
        public var truncated: UInt64 = 0
    }

    /// The outcome of sending a batch.
    public struct SendResult: Hashable, Sendable {
        /// Datagrams handed to the kernel.
        public var sent: Int
        /// Datagrams dropped because sending them failed (counted in `sendErrors`).
        public var failed: Int
        /// The first slot not handled: `batch.count` when all were, less when the socket's send
        /// buffer is full (wait for EPOLLOUT and send again from here).
        public var next: Int

        public init(sent: Int, failed: Int, next: Int) {
            self.sent = sent
            self.failed = failed
            self.next = next
        }
    }

    /// The descriptor, for epoll. Valid until `close()`.
    public let fileDescriptor: Int32
    private let closed = Atomic<Bool>(false)
    private let packetsReceived = Atomic<UInt64>(0)
    private let bytesReceived = Atomic<UInt64>(0)
    private let packetsSent = Atomic<UInt64>(0)
    private let bytesSent = Atomic<UInt64>(0)
    private let sendErrors = Atomic<UInt64>(0)
    private let receiveErrors = Atomic<UInt64>(0)
    private let invalidIPHeaders = Atomic<UInt64>(0)
    private let truncated = Atomic<UInt64>(0)

    /// Opens the socket in the calling thread's network namespace.
    /// - Parameters:
    ///   - local: bind to this address (the source of what we send, and only datagrams to it
    ///     are received); nil for any.
    ///   - remote: connect to this peer, so that the kernel delivers only its datagrams (a
    ///     client); sending to other addresses still works.
    ///   - bufferSize: SO_RCVBUF and SO_SNDBUF in octets (SO_*BUFFORCE is tried first, which
    ///     needs CAP_NET_ADMIN, so that the limits of net.core.*mem_max do not apply); nil
    ///     leaves the defaults.
    public init(local: IPv4Address? = nil, remote: IPv4Address? = nil, bufferSize: Int? = nil) throws(NetworkError) {
        let fd = try systemCall(.socket) {
            socket(
                AF_INET,
                Int32(SOCK_RAW.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue),
                Int32(GREHeaderProtocol.number)
            )
        }
        do throws(NetworkError) {
            if let bufferSize {
                var size = Int32(clamping: bufferSize)
                let length = socklen_t(MemoryLayout<Int32>.size)
                if setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, length) < 0 {
                    _ = try systemCall(.setsockopt) { setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, length) }
                }
                if setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, length) < 0 {
                    _ = try systemCall(.setsockopt) { setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, length) }
                }
            }
            if let local {
                var address = sockaddr_in(local.rawValue)
                _ = try systemCall(.bind) {
                    withUnsafePointer(to: &address) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                            bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                        }
                    }
                }
            }
            if let remote {
                var address = sockaddr_in(remote.rawValue)
                _ = try systemCall(.connect) {
                    withUnsafePointer(to: &address) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                        }
                    }
                }
            }
        } catch {
            closeDescriptor(fd)
            throw error
        }
        fileDescriptor = fd
    }

    deinit {
        if !closed.load(ordering: .relaxed) { closeDescriptor(fileDescriptor) }
    }

    /// Closes the socket. Call once no thread uses it any more (and after removing it from any
    /// epoll set); later calls do nothing.
    public func close() {
        if !closed.exchange(true, ordering: .relaxed) { closeDescriptor(fileDescriptor) }
    }

    /// The counters so far.
    public var statistics: Statistics {
        Statistics(
            packetsReceived: packetsReceived.load(ordering: .relaxed),
            bytesReceived: bytesReceived.load(ordering: .relaxed),
            packetsSent: packetsSent.load(ordering: .relaxed),
            bytesSent: bytesSent.load(ordering: .relaxed),
            sendErrors: sendErrors.load(ordering: .relaxed),
            receiveErrors: receiveErrors.load(ordering: .relaxed),
            invalidIPHeaders: invalidIPHeaders.load(ordering: .relaxed),
            truncated: truncated.load(ordering: .relaxed)
        )
    }

    /// Receives up to `batch.capacity` datagrams with one recvmmsg(2), without blocking.
    ///
    /// Afterwards `batch.count` slots hold the accepted datagrams, in order of arrival: each
    /// slot's `offset`/`length` delimit the GRE packet (after the IP header), `peer` is the IP
    /// source and `local` the IP destination. Datagrams with a bad IP header or longer than a
    /// slot are dropped and counted. Returns `batch.count`; 0 when nothing was waiting.
    @discardableResult
    public func receive(into batch: PacketBatch) throws(NetworkError) -> Int {
        let capacity = batch.capacity
        let room = batch.bufferSize - batch.headroom
        for slot in 0..<capacity {
            batch.vectors[slot].iov_base = batch.buffers[slot] + batch.headroom
            batch.vectors[slot].iov_len = room
            // The rest of the header is fixed per slot (PacketBatch.init); the kernel rewrites these.
            batch.messages[slot].msg_hdr.msg_namelen = socklen_t(MemoryLayout<sockaddr_in>.size)
            batch.messages[slot].msg_hdr.msg_control = nil
            batch.messages[slot].msg_hdr.msg_controllen = 0
            batch.messages[slot].msg_hdr.msg_flags = 0
            batch.messages[slot].msg_len = 0
        }
        batch.count = 0
        var received = 0
        // An error queued on the socket (an ICMP error on a connected socket) is reported once
        // in place of data; count it and read again.
        var attempts = 0
        while true {
            let result = cpptp_recvmmsg(fileDescriptor, batch.messages, UInt32(capacity), 0, nil)
            if result >= 0 {
                received = Int(result)
                break
            }
            let error = Errno(rawValue: errno)
            switch error {
            case .interrupted: continue
            case .wouldBlock, .resourceTemporarilyUnavailable: return 0
            case .badFileDescriptor, .notSocket, .badAddress, .invalidArgument: throw .system(.recvmmsg, error)
            default:
                receiveErrors.wrappingAdd(1, ordering: .relaxed)
                attempts += 1
                if attempts >= 4 { return 0 }
            }
        }
        var accepted = 0
        var invalid: UInt64 = 0
        var cut: UInt64 = 0
        var octets: UInt64 = 0
        for slot in 0..<received {
            let length = Int(batch.messages[slot].msg_len)
            if batch.messages[slot].msg_hdr.msg_flags & Int32(MSG_TRUNC) != 0 {
                cut += 1
                continue
            }
            let bytes = UnsafeRawBufferPointer(start: batch.buffers[slot] + batch.headroom, count: min(length, room))
            guard case .success(let header) = IPv4Packet.parse(bytes), !header.isFragment,
                header.protocolNumber == GREHeaderProtocol.number
            else {
                invalid += 1
                continue
            }
            // Keep accepted datagrams contiguous from slot 0, in order: swap buffers, not bytes.
            batch.swapSlots(accepted, slot)
            batch.metadata[accepted] = PacketMetadata(
                offset: batch.headroom + header.headerLength,
                length: header.totalLength - header.headerLength,
                peer: header.source,
                local: header.destination
            )
            octets &+= UInt64(header.totalLength)
            accepted += 1
        }
        batch.count = accepted
        if accepted > 0 {
            packetsReceived.wrappingAdd(UInt64(accepted), ordering: .relaxed)
            bytesReceived.wrappingAdd(octets, ordering: .relaxed)
        }
        if invalid > 0 { invalidIPHeaders.wrappingAdd(invalid, ordering: .relaxed) }
        if cut > 0 { truncated.wrappingAdd(cut, ordering: .relaxed) }
        return accepted
    }

    /// Sends the slots `start..<batch.count` with sendmmsg(2), each to its `peer`, without
    /// blocking. Each slot's `offset`/`length` delimit a GRE packet; the kernel prepends the IP
    /// header. A datagram that fails on its own (no route, message too long…) is dropped and
    /// counted; sending stops early only when the send buffer is full.
    public func send(_ batch: PacketBatch, from start: Int = 0) throws(NetworkError) -> SendResult {
        precondition(start >= 0 && start <= batch.count, "send start outside the batch")
        for slot in start..<batch.count {
            let meta = batch.metadata[slot]
            batch.vectors[slot].iov_base = batch.buffers[slot] + meta.offset
            batch.vectors[slot].iov_len = meta.length
            batch.names[slot] = sockaddr_in(meta.peer.rawValue)
            // The rest of the header is fixed per slot (PacketBatch.init); a receive into this
            // batch may have changed the address length.
            batch.messages[slot].msg_hdr.msg_namelen = socklen_t(MemoryLayout<sockaddr_in>.size)
            if meta.local == .unspecified {
                batch.messages[slot].msg_hdr.msg_control = nil
                batch.messages[slot].msg_hdr.msg_controllen = 0
            } else {
                // DESIGN.md "Data path": GRE leaves from the control connection's local address.
                let control = batch.controls + slot * batch.controlSize
                batch.messages[slot].msg_hdr.msg_control = control
                batch.messages[slot].msg_hdr.msg_controllen = cpptp_fill_pktinfo(control, meta.local.rawValue.bigEndian)
            }
        }
        var next = start
        var sent = 0
        var failed = 0
        var octets: UInt64 = 0
        sending: while next < batch.count {
            let result = cpptp_sendmmsg(fileDescriptor, batch.messages + next, UInt32(batch.count - next), 0)
            if result > 0 {
                for slot in next..<(next + Int(result)) { octets &+= UInt64(batch.metadata[slot].length) }
                next += Int(result)
                sent += Int(result)
                continue
            }
            let error = Errno(rawValue: errno)
            switch error {
            case .interrupted: continue
            case .wouldBlock, .resourceTemporarilyUnavailable: break sending
            case .badFileDescriptor, .notSocket, .badAddress: throw .system(.sendmmsg, error)
            default:
                // sendmmsg(2) reports an error only for the first datagram of the call: drop it.
                failed += 1
                next += 1
            }
        }
        if sent > 0 {
            packetsSent.wrappingAdd(UInt64(sent), ordering: .relaxed)
            bytesSent.wrappingAdd(octets, ordering: .relaxed)
        }
        if failed > 0 { sendErrors.wrappingAdd(UInt64(failed), ordering: .relaxed) }
        return SendResult(sent: sent, failed: failed, next: next)
    }

    /// Sends one GRE packet to `peer` (sendmsg(2)), from `local` unless unspecified, for the odd
    /// packet outside a batch (an acknowledgement). Returns false when the send buffer is full.
    /// Errors are thrown and counted.
    @discardableResult
    public func send(
        _ packet: UnsafeRawBufferPointer,
        to peer: IPv4Address,
        from local: IPv4Address = .unspecified
    ) throws(NetworkError) -> Bool {
        var address = sockaddr_in(peer.rawValue)
        let fd = fileDescriptor
        do throws(NetworkError) {
            let result = try nonBlockingSystemCall(.sendto) {
                withUnsafeMutablePointer(to: &address) { name in
                    withUnsafeTemporaryAllocation(byteCount: cpptp_pktinfo_space(), alignment: 8) { control in
                        var vector = iovec(
                            iov_base: UnsafeMutableRawPointer(mutating: packet.baseAddress),
                            iov_len: packet.count
                        )
                        return withUnsafeMutablePointer(to: &vector) { vector in
                            var message = msghdr()
                            message.msg_name = UnsafeMutableRawPointer(name)
                            message.msg_namelen = socklen_t(MemoryLayout<sockaddr_in>.size)
                            message.msg_iov = vector
                            message.msg_iovlen = 1
                            if local != .unspecified, let base = control.baseAddress {
                                message.msg_control = base
                                message.msg_controllen = cpptp_fill_pktinfo(base, local.rawValue.bigEndian)
                            }
                            return sendmsg(fd, &message, 0)
                        }
                    }
                }
            }
            guard result != nil else { return false }
        } catch {
            sendErrors.wrappingAdd(1, ordering: .relaxed)
            throw error
        }
        packetsSent.wrappingAdd(1, ordering: .relaxed)
        bytesSent.wrappingAdd(UInt64(packet.count), ordering: .relaxed)
        return true
    }
}

/// IPPROTO_GRE.
enum GREHeaderProtocol {
    static let number: UInt8 = 47
}
