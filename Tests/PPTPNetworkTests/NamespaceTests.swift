import Foundation
import Glibc
import PPP
import PPTP
import SystemPackage
import Testing

@testable import PPTPNetwork

/// Everything here runs as root in namespaces the test creates and deletes (198.51.100.0/24,
/// 192.0.2.0/24, 203.0.113.0/24 only); skipped with a printed reason otherwise.
@Suite(.enabled(if: Privileges.available, "needs root, /dev/net/tun and iproute2"))
struct NamespaceTests {
    @Test func namespaceCreatedAndDeletedLeavesNothing() throws {
        let namespace = try NetworkNamespace.create(prefix: "pptpt")
        #expect(try NetworkNamespace.list().contains(namespace.name))
        // A thread inside sees only the namespace's own interfaces; ours is not moved.
        let before = try String(contentsOfProcFile: "/proc/thread-self/ns/net")
        let names = try namespace.run { () throws -> [String] in
            let netlink = try Netlink()
            defer { netlink.close() }
            return try [netlink.link(index: 1)?.name ?? "", netlink.link(named: "eth0")?.name ?? "none"]
        }
        #expect(names == ["lo", "none"])
        #expect(try String(contentsOfProcFile: "/proc/thread-self/ns/net") == before)
        let child = try namespace.spawn(["sleep", "30"], output: .discard)
        try namespace.delete()
        #expect(try child.poll() != nil)
        #expect(try !NetworkNamespace.list().contains(namespace.name))
        try namespace.delete()  // a second delete does nothing
    }

    @Test func rawGRESocketsExchangeABatch() throws {
        let pair = try NamespacePair()
        defer { #expect(throws: Never.self) { try pair.close() } }
        let sender = try pair.left.run { try RawGRESocket(local: NamespacePair.leftAddress) }
        let receiver = try pair.right.run { try RawGRESocket(bufferSize: 1 << 20) }
        defer {
            sender.close()
            receiver.close()
        }

        let outgoing = try PacketBatch(capacity: 32, bufferSize: 2048, headroom: 64)
        var payloads: [[UInt8]] = []
        for index in 0..<32 {
            let payload = (0..<(index * 37 % 1400 + 1)).map { UInt8(truncatingIfNeeded: $0 &+ index) }
            payloads.append(payload)
            let header = GREHeader(
                payloadLength: UInt16(payload.count),
                callID: UInt16(0x4000 + index),
                sequenceNumber: UInt32(index),
                acknowledgmentNumber: index.isMultiple(of: 2) ? UInt32(index) : nil
            )
            let slot = outgoing.buffer(index)
            let headerLength = header.write(to: UnsafeMutableRawBufferPointer(rebasing: slot[64...]))
            UnsafeMutableRawBufferPointer(rebasing: slot[(64 + headerLength)...]).copyBytes(from: payload)
            outgoing.count = index + 1
            outgoing[index] = PacketMetadata(
                offset: 64,
                length: headerLength + payload.count,
                peer: NamespacePair.rightAddress
            )
        }
        let result = try sender.send(outgoing)
        #expect(result == RawGRESocket.SendResult(sent: 32, failed: 0, next: 32))

        let incoming = try PacketBatch(capacity: 32, bufferSize: 2048, headroom: 64)
        var received: [(IPv4Address, IPv4Address, GREHeader, [UInt8])] = []
        while received.count < 32, try waitReadable(receiver.fileDescriptor) {
            try receiver.receive(into: incoming)
            for slot in 0..<incoming.count {
                let packet = UnsafeRawBufferPointer(incoming.packet(slot))
                let header = try GREHeader.parse(packet)
                let payload = Array(packet[header.encodedLength..<(header.encodedLength + Int(header.payloadLength))])
                received.append((incoming[slot].peer, incoming[slot].local, header, payload))
                // The GRE packet follows the 20-octet IP header in the buffer.
                #expect(incoming[slot].offset == 64 + 20)
            }
        }
        #expect(received.count == 32)
        for (index, (peer, local, header, payload)) in received.enumerated() {
            #expect(peer == NamespacePair.leftAddress)
            #expect(local == NamespacePair.rightAddress)
            #expect(header.callID == UInt16(0x4000 + index))
            #expect(header.sequenceNumber == UInt32(index))
            #expect(payload == payloads[index])
        }
        #expect(sender.statistics.packetsSent == 32)
        #expect(receiver.statistics.packetsReceived == 32)
        #expect(receiver.statistics.invalidIPHeaders == 0)
        #expect(try receiver.receive(into: incoming) == 0)
    }

    @Test func tunDeliversAPingRoutedIntoIt() throws {
        let namespace = try NetworkNamespace.create(prefix: "pptpt")
        defer { #expect(throws: Never.self) { try namespace.delete() } }
        let tun = try namespace.run { () throws -> TunDevice in
            let tun = try TunDevice(name: "pptp%d")
            try tun.setMTU(1400)
            try tun.addAddress(local: IPv4Address(192, 0, 2, 1), peer: IPv4Address(192, 0, 2, 2))
            try tun.setUp()
            try tun.addRoute(IPv4Prefix("203.0.113.0/24")!)
            return tun
        }
        defer { tun.close() }
        #expect(tun.name.hasPrefix("pptp"))
        let info = try tun.linkInfo()
        #expect(info.mtu == 1400 && info.isUp && info.name == tun.name)

        // Ping, by hand: an ICMP echo request from a raw socket in the namespace.
        let echo = icmpEchoRequest(identifier: 0x5050, sequence: 1, payload: Array("pptp".utf8))
        let sent = try namespace.run {
            sendDatagram(
                echo,
                to: IPv4Address(203, 0, 113, 9),
                type: Int32(SOCK_RAW.rawValue),
                protocolNumber: Int32(IPPROTO_ICMP)
            )
        }
        #expect(sent == echo.count)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 8)
        defer { buffer.deallocate() }
        // IPv6 is on here, so router solicitations may come first: skip them.
        let packet = try #require(try readIPv4Packet(from: tun, into: buffer))
        let header = try packet.withUnsafeBytes { try IPv4Packet.parse($0).get() }
        #expect(header.protocolNumber == 1)
        #expect(header.source == IPv4Address(192, 0, 2, 1))
        #expect(header.destination == IPv4Address(203, 0, 113, 9))
        #expect(Array(packet[20...]) == echo)
    }

    @Test func tunBatchReadAndKernelAnswersAWrittenEcho() throws {
        let namespace = try NetworkNamespace.create(prefix: "pptpt")
        defer { #expect(throws: Never.self) { try namespace.delete() } }
        let tun = try namespace.run { () throws -> TunDevice in
            let tun = try TunDevice(name: "pptpb%d")
            try tun.disableIPv6()  // no router solicitations among the packets counted below
            try tun.addAddress(local: IPv4Address(192, 0, 2, 1), peer: IPv4Address(192, 0, 2, 2))
            try tun.setUp()
            return tun
        }
        defer { tun.close() }

        // Five UDP datagrams to the peer are drained by one batch read, each at the headroom.
        let sent = try namespace.run { () -> [Int] in
            (0..<5).map { index in
                sendDatagram(
                    [UInt8(index)],
                    to: IPv4Address(192, 0, 2, 2),
                    port: 9,
                    type: Int32(SOCK_DGRAM.rawValue),
                    protocolNumber: 0
                )
            }
        }
        #expect(sent == [1, 1, 1, 1, 1])
        #expect(try waitReadable(tun.fileDescriptor))
        let batch = try PacketBatch(capacity: 8, bufferSize: 2048, headroom: 96)
        #expect(try tun.read(into: batch) == 5)
        for slot in 0..<5 {
            #expect(batch[slot].offset == 96)
            #expect(batch[slot].length == 20 + 8 + 1)
            #expect(batch.packet(slot).last == UInt8(slot))
        }

        // An echo request written into the TUN from the peer is answered by the kernel.
        let echo = icmpEchoRequest(identifier: 0x7777, sequence: 3, payload: [1, 2, 3, 4, 5])
        let request = ipv4Packet(
            source: IPv4Address(192, 0, 2, 2),
            destination: IPv4Address(192, 0, 2, 1),
            protocolNumber: 1,
            payload: echo
        )
        #expect(try request.withUnsafeBytes { try tun.write($0) })
        #expect(try waitReadable(tun.fileDescriptor))
        #expect(try tun.read(into: batch) == 1)
        let reply = Array(batch.packet(0))
        let header = try reply.withUnsafeBytes { try IPv4Packet.parse($0).get() }
        #expect(header.source == IPv4Address(192, 0, 2, 1) && header.destination == IPv4Address(192, 0, 2, 2))
        #expect(reply[20] == 0)  // echo reply
        #expect(Array(reply[24...]) == Array(echo[4...]))
    }

    @Test func serverStyleAddressWithRoutePerClient() throws {
        let namespace = try NetworkNamespace.create(prefix: "pptpt")
        defer { #expect(throws: Never.self) { try namespace.delete() } }
        try namespace.run {
            let tun = try TunDevice(name: "pptps%d")
            defer { tun.close() }
            try tun.addAddress(local: IPv4Address(203, 0, 113, 1), prefixLength: 32)
            try tun.setUp()
            let first = try tun.addRoute(
                IPv4Prefix(host: IPv4Address(203, 0, 113, 10)),
                source: IPv4Address(203, 0, 113, 1)
            )
            try tun.addRoute(IPv4Prefix(host: IPv4Address(203, 0, 113, 11)))
            let lookup = try tun.netlink.route(to: IPv4Address(203, 0, 113, 10))
            #expect(lookup.interfaceIndex == tun.index)
            #expect(lookup.gateway == nil)
            #expect(lookup.preferredSource == IPv4Address(203, 0, 113, 1))
            #expect(
                try tun.netlink.addresses(interfaceIndex: tun.index) == [
                    InterfaceAddress(interfaceIndex: tun.index, local: IPv4Address(203, 0, 113, 1), prefixLength: 32)
                ]
            )
            let ours = try tun.netlink.routes().filter { $0.routingProtocol == Route.pptpProtocol }
            #expect(
                Set(ours.map(\.destination)) == [
                    IPv4Prefix(host: IPv4Address(203, 0, 113, 10)), IPv4Prefix(host: IPv4Address(203, 0, 113, 11)),
                ]
            )
            try tun.deleteRoute(first)
            #expect(try tun.netlink.routes().filter { $0.routingProtocol == Route.pptpProtocol }.count == 1)
            #expect(throws: NetworkError.netlink(.newRoute, .fileExists)) {
                try tun.addRoute(IPv4Prefix(host: IPv4Address(203, 0, 113, 11)))
            }
        }
    }

    @Test func routeLookupReturnsInterfaceAndGateway() throws {
        let pair = try NamespacePair()
        defer { #expect(throws: Never.self) { try pair.close() } }
        let vethName = pair.veth.first.name
        try pair.left.run {
            let netlink = try Netlink()
            defer { netlink.close() }
            let veth = try #require(try netlink.link(named: vethName))
            try netlink.addRoute(Route(destination: IPv4Prefix("203.0.113.0/24")!, gateway: NamespacePair.rightAddress))
            let viaGateway = try netlink.route(to: IPv4Address(203, 0, 113, 5))
            #expect(viaGateway.interfaceIndex == veth.index)
            #expect(viaGateway.gateway == NamespacePair.rightAddress)
            #expect(viaGateway.preferredSource == NamespacePair.leftAddress)
            let onLink = try netlink.route(to: NamespacePair.rightAddress)
            #expect(onLink.interfaceIndex == veth.index && onLink.gateway == nil)
            #expect(throws: NetworkError.noRoute(to: IPv4Address(192, 0, 2, 77))) {
                try netlink.route(to: IPv4Address(192, 0, 2, 77))
            }
        }
    }

    /// A client's whole configuration through the undo log, then `undo()`: nothing remains.
    @Test func undoLogRemovesEverythingItAdded() throws {
        let pair = try NamespacePair()
        defer { #expect(throws: Never.self) { try pair.close() } }
        let directory = try makeTemporaryDirectory("pptp-undo")
        defer { _ = try? Command.run(["rm", "-rf", directory]) }
        let resolvConf = ResolvConf(path: directory + "/resolv.conf")
        let original = Array("nameserver 192.0.2.53\n".utf8)
        let fd = open(resolvConf.path, O_WRONLY | O_CREAT, 0o644)
        #expect(write(fd, original, original.count) == original.count)
        close(fd)
        let vethName = pair.veth.first.name
        let server = IPv4Address(203, 0, 113, 7)
        let gateway = IPv4Address(198, 51, 100, 254)

        try pair.left.run {
            let netlink = try Netlink()
            defer { netlink.close() }
            let veth = try #require(try netlink.link(named: vethName))
            // The namespace's own default route (not ours, so it must survive).
            try netlink.addRoute(Route(destination: .any, gateway: gateway, routingProtocol: 3))
            let before = try netlink.routes()
            let tun = try TunDevice(name: "pptpu%d")
            defer { tun.close() }
            try tun.setUp()
            let changes = NetworkChanges(netlink: netlink)
            try changes.addAddress(
                InterfaceAddress(
                    interfaceIndex: tun.index,
                    local: IPv4Address(192, 0, 2, 1),
                    peer: IPv4Address(192, 0, 2, 2)
                )
            )
            let serverRoute = try #require(try changes.addServerRoute(server))
            #expect(serverRoute.gateway == gateway && serverRoute.interfaceIndex == veth.index)
            try changes.routeAllTraffic(interfaceIndex: tun.index, source: IPv4Address(192, 0, 2, 1))
            try changes.addRoutes([IPv4Prefix("203.0.113.64/26")!], interfaceIndex: tun.index)
            try changes.configureDNS(
                servers: [IPv4Address(203, 0, 113, 53)],
                interfaceName: tun.name,
                backend: .resolvConf(resolvConf)
            )
            // A step that fails is not recorded; what came before stays undoable.
            #expect(throws: NetworkError.netlink(.newRoute, .fileExists)) {
                try changes.addRoutes([IPv4Prefix("203.0.113.64/26")!], interfaceIndex: tun.index)
            }
            #expect(changes.changes.count == 6)
            #expect(try netlink.route(to: IPv4Address(203, 0, 113, 200)).interfaceIndex == tun.index)
            #expect(try netlink.route(to: server).gateway == gateway)
            #expect(try netlink.route(to: IPv4Address(198, 51, 100, 77)).interfaceIndex == veth.index)
            #expect(try resolvConf.carriesMarker())

            #expect(changes.undo().isEmpty)
            #expect(changes.changes.isEmpty)
            #expect(try netlink.routes() == before)
            #expect(try netlink.addresses(interfaceIndex: tun.index).isEmpty)
            #expect(try netlink.route(to: IPv4Address(203, 0, 113, 200)).gateway == gateway)
            #expect(changes.undo().isEmpty)
        }
        #expect(try readFile(resolvConf.path) == original)
        // The same, seen by iproute2.
        #expect(try pair.left.ip(["route", "show", "proto", "157"]).text.isEmpty)
    }

    @Test func undoAfterTheTunnelInterfaceIsGone() throws {
        let namespace = try NetworkNamespace.create(prefix: "pptpt")
        defer { #expect(throws: Never.self) { try namespace.delete() } }
        try namespace.run {
            let netlink = try Netlink()
            defer { netlink.close() }
            let tun = try TunDevice(name: "pptpg%d")
            try tun.setUp()
            let changes = NetworkChanges(netlink: netlink)
            try changes.addAddress(
                InterfaceAddress(
                    interfaceIndex: tun.index,
                    local: IPv4Address(192, 0, 2, 1),
                    peer: IPv4Address(192, 0, 2, 2)
                )
            )
            try changes.routeAllTraffic(interfaceIndex: tun.index)
            tun.close()  // the kernel removes its routes and addresses
            #expect(changes.undo().isEmpty)
            #expect(try netlink.routes().filter { $0.routingProtocol == Route.pptpProtocol }.isEmpty)
        }
    }

    /// A killed client leaves its host route to the server (issue 22 item 12); the next run finds
    /// it in the dead run's state file and deletes it, and leaves other routes alone: those of
    /// other programs, and those a live run recorded.
    @Test func leftoversOfAKilledRunAreRemoved() throws {
        let pair = try NamespacePair()
        defer { #expect(throws: Never.self) { try pair.close() } }
        let directory = NSTemporaryDirectory() + "pptp-state-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // A process that has ended: its PID is free.
        let dead = try Command.spawn(["true"])
        _ = try dead.wait()
        try pair.left.run {
            let netlink = try Netlink()
            defer { netlink.close() }
            let theirs = Route(
                destination: IPv4Prefix("203.0.113.128/25")!,
                gateway: NamespacePair.rightAddress,
                routingProtocol: 4
            )
            try netlink.addRoute(theirs)
            let killed = NetworkChanges(netlink: netlink, state: try RunState(directory: directory, pid: dead.pid))
            let serverRoute = try #require(try killed.addServerRoute(IPv4Address(203, 0, 113, 200)))
            #expect(serverRoute.gateway == NamespacePair.rightAddress)
            // A live run (this process) with a route of its own.
            let live = NetworkChanges(netlink: netlink, state: try RunState(directory: directory))
            try live.addRoute(Route(destination: IPv4Prefix("198.51.100.64/26")!, gateway: NamespacePair.rightAddress))
            // No undo() for the first: the process "died".
            let report = RunState.recoverDeadRuns(in: directory, netlink: netlink)
            #expect(
                report == [
                    "run \(dead.pid) left route 203.0.113.200/32 via \(NamespacePair.rightAddress) dev #\(serverRoute.interfaceIndex ?? 0): removed"
                ]
            )
            let ours = try netlink.routes().filter { $0.routingProtocol == Route.pptpProtocol }.map(\.destination)
            #expect(ours == [IPv4Prefix("198.51.100.64/26")!])
            #expect(try netlink.routes().contains { $0.destination == theirs.destination })
            #expect(RunState.recoverDeadRuns(in: directory, netlink: netlink).isEmpty)
            #expect(live.undo().isEmpty)
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
        }
    }

    /// The state file says, line by line, what a run installed, and reads back the same.
    @Test func stateLinesRoundTrip() throws {
        let changes: [NetworkChanges.Change] = [
            .route(
                Route(destination: IPv4Prefix("192.0.2.1/32")!, gateway: IPv4Address(203, 0, 113, 1), interfaceIndex: 3)
            ),
            .route(
                Route(
                    destination: IPv4Prefix("0.0.0.0/1")!,
                    interfaceIndex: 9,
                    preferredSource: IPv4Address(198, 51, 100, 10)
                )
            ),
            .address(
                InterfaceAddress(
                    interfaceIndex: 9,
                    local: IPv4Address(198, 51, 100, 10),
                    peer: IPv4Address(198, 51, 100, 1)
                )
            ),
            .resolvedLink("pptp0"),
        ]
        for change in changes { #expect(RunState.parse(RunState.line(change)) == change, "\(RunState.line(change))") }
        #expect(RunState.parse("resolvconf /etc/resolv.conf") == nil)
        #expect(RunState.parse("route nonsense") == nil)
    }
}

func readFile(_ path: String) throws -> [UInt8] {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw NetworkError.system(.open, .init(rawValue: errno)) }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = read(fd, &chunk, chunk.count)
        guard count > 0 else { return bytes }
        bytes += chunk[0..<count]
    }
}

extension String {
    /// The target of a /proc symbolic link (e.g. "net:[4026531840]").
    init(contentsOfProcFile path: String) throws {
        var buffer = [CChar](repeating: 0, count: 256)
        let count = readlink(path, &buffer, 255)
        guard count > 0 else { throw NetworkError.system(.readlink, .init(rawValue: errno)) }
        self = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
