import CPPTPNetwork
import Glibc
import PPP
import Synchronization
import SystemPackage

/// A TUN interface (`/dev/net/tun` with IFF_TUN | IFF_NO_PI, Documentation/networking/tuntap):
/// each read returns one IP packet the kernel routed into the interface, each write injects one
/// IP packet as if it had arrived on it. No packet-information header.
///
/// The interface exists while the descriptor is open: `close()` (or deinit) deletes it, and the
/// kernel removes its addresses and routes with it. It is created in the network namespace of
/// the calling thread, and the configuration methods act there too (through a `Netlink`
/// socket opened with the device).
///
/// Needs CAP_NET_ADMIN.
public final class TunDevice: Sendable {
    /// The interface name the kernel gave (e.g. "pptp0" for the pattern "pptp%d").
    public let name: String
    /// The interface index.
    public let index: UInt32
    /// The non-blocking descriptor, for epoll. Valid until `close()`.
    public let fileDescriptor: Int32
    /// The rtnetlink socket used by the configuration methods (same namespace as the device).
    public let netlink: Netlink
    private let closed = Atomic<Bool>(false)

    /// Creates a TUN interface.
    /// - Parameters:
    ///   - name: a name, or a pattern with "%d" that the kernel numbers (1 to 15 octets).
    ///   - multiQueue: IFF_MULTI_QUEUE, so that further queues can be attached by opening a
    ///     device of the same name again with `multiQueue` (one queue per data-plane thread).
    public init(name: String = "pptp%d", multiQueue: Bool = false) throws(NetworkError) {
        guard (1...15).contains(name.utf8.count) else { throw .interfaceNameLength(name.utf8.count) }
        let fd = try systemCall(.open) { Glibc.open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC) }
        var flags = Int16(IFF_TUN | IFF_NO_PI)
        if multiQueue { flags |= Int16(IFF_MULTI_QUEUE) }
        var actual = [CChar](repeating: 0, count: 16)
        let result = cpptp_tun_set_iff(fd, name, flags, &actual)
        if result < 0 {
            let error = Errno(rawValue: errno)
            closeDescriptor(fd)
            throw .system(.ioctl, error)
        }
        let actualName = String(decoding: actual.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        do throws(NetworkError) {
            let netlink = try Netlink()
            guard let link = try netlink.link(named: actualName) else { throw .noSuchInterface(index: 0) }
            self.netlink = netlink
            self.index = link.index
        } catch {
            closeDescriptor(fd)
            throw error
        }
        self.name = actualName
        self.fileDescriptor = fd
    }

    deinit {
        if !closed.load(ordering: .relaxed) { closeDescriptor(fileDescriptor) }
    }

    /// Closes the descriptor, which deletes the interface with its addresses and routes. Call
    /// once no thread reads or writes any more; later calls do nothing.
    public func close() {
        if !closed.exchange(true, ordering: .relaxed) {
            closeDescriptor(fileDescriptor)
            netlink.close()
        }
    }

    // MARK: Packets

    /// Reads one packet into `buffer`. Returns its length, or nil when none is waiting. A packet
    /// longer than the buffer is cut (the rest is lost), as read(2) on a TUN does.
    @inlinable
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(NetworkError) -> Int? {
        let fd = fileDescriptor
        return try nonBlockingSystemCall(.read) { Glibc.read(fd, buffer.baseAddress, buffer.count) }
    }

    /// Writes one IP packet. Returns false when the device cannot take it now (EAGAIN).
    @inlinable
    @discardableResult
    public func write(_ packet: UnsafeRawBufferPointer) throws(NetworkError) -> Bool {
        let fd = fileDescriptor
        return try nonBlockingSystemCall(.write) { Glibc.write(fd, packet.baseAddress, packet.count) } != nil
    }

    /// Drains up to `maximum` packets (at most the batch's capacity) into the batch's slots,
    /// each read at the batch's headroom, so that tunnel headers can be written in front in
    /// place. Sets `batch.count` and each slot's offset and length (peer: unspecified). Returns
    /// the number read; 0 when none was waiting.
    @discardableResult
    public func read(into batch: PacketBatch, maximum: Int = .max) throws(NetworkError) -> Int {
        let limit = min(maximum, batch.capacity)
        let room = batch.bufferSize - batch.headroom
        let fd = fileDescriptor
        var slot = 0
        while slot < limit {
            let base = batch.buffers[slot] + batch.headroom
            guard let length = try nonBlockingSystemCall(.read, { Glibc.read(fd, base, room) }) else { break }
            batch.metadata[slot] = PacketMetadata(offset: batch.headroom, length: length)
            slot += 1
        }
        batch.count = slot
        return slot
    }

    /// Writes the slots `start..<batch.count` (each its offset and length), one write(2) each.
    /// Returns the first slot not written: `batch.count` unless the device was full.
    public func write(_ batch: PacketBatch, from start: Int = 0) throws(NetworkError) -> Int {
        let fd = fileDescriptor
        var slot = start
        while slot < batch.count {
            let meta = batch.metadata[slot]
            let base = batch.buffers[slot] + meta.offset
            guard try nonBlockingSystemCall(.write, { Glibc.write(fd, base, meta.length) }) != nil else { break }
            slot += 1
        }
        return slot
    }

    // MARK: Configuration

    /// Sets the MTU (RTM_NEWLINK).
    public func setMTU(_ mtu: Int) throws(NetworkError) {
        try netlink.setLink(index: index, mtu: mtu)
    }

    /// Brings the interface up or down (IFF_UP).
    public func setUp(_ up: Bool = true) throws(NetworkError) {
        try netlink.setLink(index: index, up: up)
    }

    /// Turns IPv6 off on the interface (net.ipv6.conf.NAME.disable_ipv6), so that the kernel
    /// sends no router solicitations or MLD reports into a tunnel that has not negotiated
    /// IPV6CP. Call it before `setUp()`, on a thread in the device's namespace (/proc/sys/net
    /// shows the namespace of the thread that opens it). Does nothing where IPv6 is absent.
    public func disableIPv6() throws(NetworkError) {
        let path = "/proc/sys/net/ipv6/conf/\(name)/disable_ipv6"
        let fd = Glibc.open(path, O_WRONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return }
            throw .system(.open, Errno(rawValue: errno))
        }
        defer { closeDescriptor(fd) }
        try writeAll(fd, [UInt8(ascii: "1"), UInt8(ascii: "\n")])
    }

    /// Adds a point-to-point address: `local` here, `peer` at the other end of the tunnel (as
    /// `ip addr add LOCAL peer PEER dev NAME`). The kernel adds the /32 route to the peer.
    /// Returns what was added, for `deleteAddress` or an undo log.
    @discardableResult
    public func addAddress(local: IPv4Address, peer: IPv4Address) throws(NetworkError) -> InterfaceAddress {
        let address = InterfaceAddress(interfaceIndex: index, local: local, peer: peer, prefixLength: 32)
        try netlink.addAddress(address)
        return address
    }

    /// Adds a local address with a prefix length and no peer (a server's one address for all
    /// sessions, e.g. 203.0.113.1/32, with a /32 route per client via `addRoute`).
    @discardableResult
    public func addAddress(local: IPv4Address, prefixLength: Int) throws(NetworkError) -> InterfaceAddress {
        guard (0...32).contains(prefixLength) else { throw .prefixLength(prefixLength) }
        let address = InterfaceAddress(interfaceIndex: index, local: local, prefixLength: prefixLength)
        try netlink.addAddress(address)
        return address
    }

    /// Removes an address added before.
    public func deleteAddress(_ address: InterfaceAddress) throws(NetworkError) {
        try netlink.deleteAddress(address)
    }

    /// Routes `destination` into the tunnel (`ip route add DEST dev NAME [src SOURCE]`).
    /// Returns the route, for `deleteRoute` or an undo log.
    @discardableResult
    public func addRoute(
        _ destination: IPv4Prefix,
        source: IPv4Address? = nil,
        metric: UInt32? = nil
    ) throws(NetworkError)
        -> Route
    {
        let route = Route(destination: destination, interfaceIndex: index, preferredSource: source, metric: metric)
        try netlink.addRoute(route)
        return route
    }

    /// Removes a route added before.
    public func deleteRoute(_ route: Route) throws(NetworkError) {
        try netlink.deleteRoute(route)
    }

    /// What the kernel reports about the interface (name, MTU, up).
    public func linkInfo() throws(NetworkError) -> LinkInfo {
        guard let info = try netlink.link(index: index) else { throw .noSuchInterface(index: index) }
        return info
    }
}
