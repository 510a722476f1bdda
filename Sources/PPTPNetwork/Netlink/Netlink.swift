import CPPTPNetwork
import Glibc
import PPP
import Synchronization
import SystemPackage

/// An IPv4 route in the kernel's main table (or another), as rtnetlink(7) describes it.
public struct Route: Hashable, Sendable, CustomStringConvertible {
    /// Where the route leads: 0.0.0.0/0 for a default route.
    public var destination: IPv4Prefix
    /// The next hop; nil for a route on the link itself (a point-to-point TUN, or a LAN).
    public var gateway: IPv4Address?
    /// The output interface.
    public var interfaceIndex: UInt32?
    /// The source address the kernel prefers for traffic on this route (RTA_PREFSRC).
    public var preferredSource: IPv4Address?
    /// The metric (RTA_PRIORITY); nil for 0.
    public var metric: UInt32?
    /// The routing table: 254 is `main`.
    public var table: UInt32
    /// Who installed the route (rtm_protocol): routes that we install carry `Route.pptpProtocol`,
    /// so that `ip route show proto 157` lists them and a crashed run's routes can be found.
    public var routingProtocol: UInt8

    /// rtm_protocol of our routes (157: unassigned in /etc/iproute2/rt_protos).
    public static let pptpProtocol: UInt8 = 157
    /// The main routing table.
    public static let mainTable: UInt32 = 254

    public init(
        destination: IPv4Prefix,
        gateway: IPv4Address? = nil,
        interfaceIndex: UInt32? = nil,
        preferredSource: IPv4Address? = nil,
        metric: UInt32? = nil,
        table: UInt32 = Route.mainTable,
        routingProtocol: UInt8 = Route.pptpProtocol
    ) {
        self.destination = destination
        self.gateway = gateway
        self.interfaceIndex = interfaceIndex
        self.preferredSource = preferredSource
        self.metric = metric
        self.table = table
        self.routingProtocol = routingProtocol
    }

    public var description: String {
        var text = destination.length == 0 ? "default" : destination.description
        if let gateway { text += " via \(gateway)" }
        if let interfaceIndex { text += " dev #\(interfaceIndex)" }
        if let preferredSource { text += " src \(preferredSource)" }
        if let metric { text += " metric \(metric)" }
        if table != Route.mainTable { text += " table \(table)" }
        return text
    }
}

/// An IPv4 address on an interface (RTM_NEWADDR).
public struct InterfaceAddress: Hashable, Sendable, CustomStringConvertible {
    public var interfaceIndex: UInt32
    /// Our address (IFA_LOCAL).
    public var local: IPv4Address
    /// The peer of a point-to-point link; nil when the address is on a broadcast link or has no
    /// peer (IFA_ADDRESS equal to IFA_LOCAL).
    public var peer: IPv4Address?
    /// 32 for a point-to-point address with a peer.
    public var prefixLength: Int

    public init(interfaceIndex: UInt32, local: IPv4Address, peer: IPv4Address? = nil, prefixLength: Int = 32) {
        self.interfaceIndex = interfaceIndex
        self.local = local
        self.peer = peer
        self.prefixLength = prefixLength
    }

    public var description: String {
        if let peer { return "\(local) peer \(peer)/\(prefixLength) dev #\(interfaceIndex)" }
        return "\(local)/\(prefixLength) dev #\(interfaceIndex)"
    }
}

/// What the kernel reports about an interface (RTM_NEWLINK).
public struct LinkInfo: Hashable, Sendable {
    public var index: UInt32
    public var name: String
    public var mtu: Int
    /// IFF_UP: administratively up.
    public var isUp: Bool
}

/// A NETLINK_ROUTE socket (rtnetlink(7)): interface state, addresses and routes of the network
/// namespace of the thread that created it. Requests are serialised; each waits for the kernel's
/// acknowledgement, so an error names the request that failed.
///
/// Needs CAP_NET_ADMIN for changes; lookups and dumps work unprivileged.
public final class Netlink: Sendable {
    /// The socket; -1 once closed.
    private let descriptor: Atomic<Int32>
    private let sequence: Atomic<UInt32>
    /// Serialises request/answer exchanges, so that answers are not read by the wrong caller.
    private let exchangeLock = Mutex(())

    /// Opens a NETLINK_ROUTE socket in the calling thread's network namespace.
    public init() throws(NetworkError) {
        let fd = try systemCall(.socket) {
            socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        }
        var address = sockaddr_nl()
        address.nl_family = sa_family_t(AF_NETLINK)
        do throws(NetworkError) {
            _ = try systemCall(.bind) {
                withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        bind(fd, $0, socklen_t(MemoryLayout<sockaddr_nl>.size))
                    }
                }
            }
        } catch {
            closeDescriptor(fd)
            throw error
        }
        descriptor = Atomic(fd)
        sequence = Atomic(UInt32(truncatingIfNeeded: getpid()) &* 7919)
    }

    deinit {
        let fd = descriptor.load(ordering: .relaxed)
        if fd >= 0 { closeDescriptor(fd) }
    }

    /// Closes the socket; later requests fail with `.closed`.
    public func close() {
        exchangeLock.withLock { _ in
            let fd = descriptor.exchange(-1, ordering: .relaxed)
            if fd >= 0 { closeDescriptor(fd) }
        }
    }

    // MARK: Links

    /// The interface called `name`, or nil.
    public func link(named name: String) throws(NetworkError) -> LinkInfo? {
        guard (1...15).contains(name.utf8.count) else { throw .interfaceNameLength(name.utf8.count) }
        var found: LinkInfo?
        do throws(NetworkError) {
            try exchange(.getLink, type: RTNL.getLink, flags: RTNL.request) { writer in
                Self.writeLinkHeader(&writer, index: 0, flags: 0, change: 0)
                writer.attribute(RTNL.linkName, string: name)
            } answer: { message in
                if message.type == RTNL.newLink { found = Self.parseLink(message) }
            }
        } catch {
            if case .netlink(_, .operationNotSupportedByDevice) = error { return nil }
            throw error
        }
        return found
    }

    /// The interface with index `index`, or nil.
    public func link(index: UInt32) throws(NetworkError) -> LinkInfo? {
        var found: LinkInfo?
        do throws(NetworkError) {
            try exchange(.getLink, type: RTNL.getLink, flags: RTNL.request) { writer in
                Self.writeLinkHeader(&writer, index: index, flags: 0, change: 0)
            } answer: { message in
                if message.type == RTNL.newLink { found = Self.parseLink(message) }
            }
        } catch {
            if case .netlink(_, .operationNotSupportedByDevice) = error { return nil }
            throw error
        }
        return found
    }

    /// Sets an interface administratively up or down and/or its MTU (RTM_NEWLINK, as
    /// `ip link set`).
    public func setLink(index: UInt32, up: Bool? = nil, mtu: Int? = nil) throws(NetworkError) {
        let iffUp: UInt32 = 1
        try exchange(.newLink, type: RTNL.newLink, flags: RTNL.request | RTNL.ack) { writer in
            Self.writeLinkHeader(
                &writer,
                index: index,
                flags: up == true ? iffUp : 0,
                change: up == nil ? 0 : iffUp
            )
            if let mtu { writer.attribute(RTNL.linkMTU, uint32: UInt32(truncatingIfNeeded: mtu)) }
        } answer: { _ in
        }
    }

    // MARK: Addresses

    /// Adds an address (RTM_NEWADDR with NLM_F_EXCL: fails with EEXIST when present).
    public func addAddress(_ address: InterfaceAddress) throws(NetworkError) {
        try exchange(.newAddress, type: RTNL.newAddress, flags: RTNL.request | RTNL.ack | RTNL.create | RTNL.exclusive)
        { writer in
            Self.writeAddress(&writer, address)
        } answer: { _ in
        }
    }

    /// Removes an address (RTM_DELADDR).
    public func deleteAddress(_ address: InterfaceAddress) throws(NetworkError) {
        try exchange(.deleteAddress, type: RTNL.deleteAddress, flags: RTNL.request | RTNL.ack) { writer in
            Self.writeAddress(&writer, address)
        } answer: { _ in
        }
    }

    /// All IPv4 addresses of the namespace, or of one interface.
    public func addresses(interfaceIndex: UInt32? = nil) throws(NetworkError) -> [InterfaceAddress] {
        var result: [InterfaceAddress] = []
        try exchange(.getAddress, type: RTNL.getAddress, flags: RTNL.request | RTNL.dump) { writer in
            writer.append(UInt8(AF_INET))
            writer.append(UInt8(0))
            writer.append(UInt8(0))
            writer.append(UInt8(0))
            writer.append(UInt32(0))
        } answer: { message in
            guard message.type == RTNL.newAddress, message.uint8(at: 0) == UInt8(AF_INET),
                let prefix = message.uint8(at: 1), let index = message.uint32(at: 4)
            else { return }
            if let interfaceIndex, index != interfaceIndex { return }
            var local: IPv4Address?
            var address: IPv4Address?
            message.forEachAttribute(after: RTNL.addressHeaderLength) { type, value in
                switch type {
                case RTNL.addressLocal: local = value.ipv4Address
                case RTNL.addressAddress: address = value.ipv4Address
                default: break
                }
            }
            guard let mine = local ?? address else { return }
            result.append(
                InterfaceAddress(
                    interfaceIndex: index,
                    local: mine,
                    peer: address == mine ? nil : address,
                    prefixLength: Int(prefix)
                )
            )
        }
        return result
    }

    // MARK: Routes

    /// Adds a route (RTM_NEWROUTE with NLM_F_EXCL: fails with EEXIST when one to the same
    /// destination, table and metric exists).
    public func addRoute(_ route: Route) throws(NetworkError) {
        try exchange(.newRoute, type: RTNL.newRoute, flags: RTNL.request | RTNL.ack | RTNL.create | RTNL.exclusive) {
            writer in
            Self.writeRoute(&writer, route)
        } answer: { _ in
        }
    }

    /// Removes a route (RTM_DELROUTE). The kernel matches destination, table and metric, and the
    /// gateway, interface and protocol where given.
    public func deleteRoute(_ route: Route) throws(NetworkError) {
        try exchange(.deleteRoute, type: RTNL.deleteRoute, flags: RTNL.request | RTNL.ack) { writer in
            Self.writeRoute(&writer, route)
        } answer: { _ in
        }
    }

    /// The route the kernel would use for a packet to `destination` (RTM_GETROUTE, as
    /// `ip route get`): output interface, gateway and preferred source. Its `destination` is the
    /// /32 looked up (the kernel does not report the matched prefix).
    public func route(to destination: IPv4Address) throws(NetworkError) -> Route {
        var found: Route?
        do throws(NetworkError) {
            try exchange(.getRoute, type: RTNL.getRoute, flags: RTNL.request) { writer in
                writer.append(UInt8(AF_INET))
                writer.append(UInt8(32))  // dst_len
                writer.append(UInt8(0))  // src_len
                writer.append(UInt8(0))  // tos
                writer.append(UInt8(0))  // table
                writer.append(UInt8(0))  // protocol
                writer.append(UInt8(0))  // scope
                writer.append(UInt8(0))  // type
                writer.append(RTNL.lookupTable)
                writer.attribute(RTNL.routeDestination, address: destination)
            } answer: { message in
                if message.type == RTNL.newRoute { found = Self.parseRoute(message) }
            }
        } catch {
            switch error {
            case .netlink(_, .networkUnreachable), .netlink(_, .noRouteToHost): throw .noRoute(to: destination)
            default: throw error
            }
        }
        guard let found else { throw .noRoute(to: destination) }
        return found
    }

    /// All IPv4 unicast routes of a table (the main table by default).
    public func routes(table: UInt32? = Route.mainTable) throws(NetworkError) -> [Route] {
        var result: [Route] = []
        try exchange(.getRoute, type: RTNL.getRoute, flags: RTNL.request | RTNL.dump) { writer in
            writer.append(UInt8(AF_INET))
            for _ in 0..<7 { writer.append(UInt8(0)) }
            writer.append(UInt32(0))
        } answer: { message in
            guard message.type == RTNL.newRoute, message.uint8(at: 7) == RTNL.typeUnicast,
                let route = Self.parseRoute(message)
            else { return }
            if let table, route.table != table { return }
            result.append(route)
        }
        return result
    }

    // MARK: Encoding

    private static func writeLinkHeader(
        _ writer: inout NetlinkMessageWriter,
        index: UInt32,
        flags: UInt32,
        change: UInt32
    ) {
        writer.append(UInt8(AF_UNSPEC))
        writer.append(UInt8(0))
        writer.append(UInt16(0))  // ifi_type
        writer.append(Int32(bitPattern: index))
        writer.append(flags)
        writer.append(change)
    }

    private static func writeAddress(_ writer: inout NetlinkMessageWriter, _ address: InterfaceAddress) {
        writer.append(UInt8(AF_INET))
        writer.append(UInt8(truncatingIfNeeded: address.prefixLength))
        writer.append(UInt8(0))  // flags
        writer.append(RTNL.scopeUniverse)
        writer.append(address.interfaceIndex)
        // rtnetlink(7): IFA_ADDRESS is the peer on point-to-point links, IFA_LOCAL our address.
        writer.attribute(RTNL.addressLocal, address: address.local)
        writer.attribute(RTNL.addressAddress, address: address.peer ?? address.local)
    }

    private static func writeRoute(_ writer: inout NetlinkMessageWriter, _ route: Route) {
        writer.append(UInt8(AF_INET))
        writer.append(UInt8(truncatingIfNeeded: route.destination.length))
        writer.append(UInt8(0))  // src_len
        writer.append(UInt8(0))  // tos
        writer.append(route.table < 256 ? UInt8(route.table) : 252)  // RT_TABLE_COMPAT with RTA_TABLE
        writer.append(route.routingProtocol)
        // A route without a gateway is on the link (as `ip route add … dev X` does).
        writer.append(route.gateway == nil ? RTNL.scopeLink : RTNL.scopeUniverse)
        writer.append(RTNL.typeUnicast)
        writer.append(UInt32(0))  // rtm_flags
        if route.destination.length > 0 { writer.attribute(RTNL.routeDestination, address: route.destination.address) }
        if let gateway = route.gateway { writer.attribute(RTNL.routeGateway, address: gateway) }
        if let index = route.interfaceIndex { writer.attribute(RTNL.routeOutputInterface, uint32: index) }
        if let source = route.preferredSource { writer.attribute(RTNL.routePreferredSource, address: source) }
        if let metric = route.metric { writer.attribute(RTNL.routePriority, uint32: metric) }
        writer.attribute(RTNL.routeTable, uint32: route.table)
    }

    // MARK: Decoding

    private static func parseLink(_ message: NetlinkMessageView) -> LinkInfo? {
        guard let rawIndex = message.uint32(at: 4), let flags = message.uint32(at: 8) else { return nil }
        var name = ""
        var mtu = 0
        message.forEachAttribute(after: RTNL.linkHeaderLength) { type, value in
            switch type {
            case RTNL.linkName: name = value.cString
            case RTNL.linkMTU: mtu = Int(value.uint32Value ?? 0)
            default: break
            }
        }
        return LinkInfo(index: rawIndex, name: name, mtu: mtu, isUp: flags & 1 != 0)
    }

    private static func parseRoute(_ message: NetlinkMessageView) -> Route? {
        guard message.uint8(at: 0) == UInt8(AF_INET), let destinationLength = message.uint8(at: 1),
            let table = message.uint8(at: 4), let routingProtocol = message.uint8(at: 5)
        else { return nil }
        var destination = IPv4Address.unspecified
        var route = Route(destination: .any, table: UInt32(table), routingProtocol: routingProtocol)
        message.forEachAttribute(after: RTNL.routeHeaderLength) { type, value in
            switch type {
            case RTNL.routeDestination: destination = value.ipv4Address ?? .unspecified
            case RTNL.routeGateway: route.gateway = value.ipv4Address
            case RTNL.routeOutputInterface: route.interfaceIndex = value.uint32Value
            case RTNL.routePreferredSource: route.preferredSource = value.ipv4Address
            case RTNL.routePriority: route.metric = value.uint32Value
            case RTNL.routeTable: route.table = value.uint32Value ?? route.table
            default: break
            }
        }
        guard let prefix = try? IPv4Prefix(destination, length: Int(destinationLength)) else { return nil }
        route.destination = prefix
        return route
    }

    // MARK: Transport

    /// Sends one request and reads answers until its acknowledgement, error or end of dump.
    /// `answer` sees each data message of the reply.
    private func exchange(
        _ request: NetlinkRequest,
        type: UInt16,
        flags: UInt16,
        build: (inout NetlinkMessageWriter) -> Void,
        answer: (NetlinkMessageView) -> Void
    ) throws(NetworkError) {
        // Dumps arrive in datagrams of at most 32 KiB (the kernel's NLMSG_GOODSIZE is smaller).
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 8)
        defer { buffer.deallocate() }
        try exchangeLock.withLock { _ throws(NetworkError) in
            let fd = descriptor.load(ordering: .relaxed)
            guard fd >= 0 else { throw .closed }
            let sequence = self.sequence.wrappingAdd(1, ordering: .relaxed).newValue
            var writer = NetlinkMessageWriter(type: type, flags: flags, sequence: sequence)
            build(&writer)
            let message = writer.finish()
            var kernel = sockaddr_nl()
            kernel.nl_family = sa_family_t(AF_NETLINK)
            let sent = message.withUnsafeBytes { bytes in
                Result { () throws(NetworkError) in
                    try systemCall(.sendto) {
                        withUnsafePointer(to: &kernel) {
                            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                                sendto(
                                    fd,
                                    bytes.baseAddress,
                                    bytes.count,
                                    0,
                                    $0,
                                    socklen_t(MemoryLayout<sockaddr_nl>.size)
                                )
                            }
                        }
                    }
                }
            }
            _ = try sent.get()
            // A request without ACK or DUMP (a lookup) is answered by exactly one message.
            let single = flags & (RTNL.ack | RTNL.dump) == 0
            while true {
                var sender = sockaddr_nl()
                var senderLength = socklen_t(MemoryLayout<sockaddr_nl>.size)
                let received = try systemCall(.recvfrom) {
                    withUnsafeMutablePointer(to: &sender) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                            recvfrom(fd, buffer.baseAddress, buffer.count, 0, $0, &senderLength)
                        }
                    }
                }
                // Only the kernel (port 0) may answer; anything else is ignored.
                guard sender.nl_pid == 0 else { continue }
                var finished = false
                try forEachNetlinkMessage(in: UnsafeRawBufferPointer(rebasing: buffer[0..<received])) {
                    message throws(NetworkError) in
                    guard message.sequence == sequence else { return true }  // stale answer of an earlier request
                    switch message.type {
                    case RTNL.error:
                        guard message.body.count >= 4 else {
                            throw .netlinkMalformed(messageType: message.type, length: message.body.count)
                        }
                        let code = message.body.loadUnaligned(as: Int32.self)
                        finished = true
                        if code != 0 { throw .netlink(request, Errno(rawValue: -code)) }
                        return false
                    case RTNL.done:
                        finished = true
                        return false
                    default:
                        answer(message)
                        if single {
                            finished = true
                            return false
                        }
                        return true
                    }
                }
                if finished { return }
            }
        }
    }
}
