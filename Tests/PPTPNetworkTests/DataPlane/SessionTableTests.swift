import NIOCore
import PPP
import PPTP
import Testing

@testable import PPTPNetwork

/// Collects what a session table emits.
struct CollectingSink: DataPlaneSink {
    var gre: [(packet: [UInt8], peer: IPv4Address)] = []
    var sources: [IPv4Address] = []
    var tun: [[UInt8]] = []
    var events: [(SessionKey, DataPlaneEvent)] = []

    mutating func sendGRE(_ packet: UnsafeRawBufferPointer, to peer: IPv4Address, from local: IPv4Address) {
        gre.append((Array(packet), peer))
        sources.append(local)
    }
    mutating func deliver(_ packet: UnsafeRawBufferPointer) { tun.append(Array(packet)) }
    mutating func report(_ event: DataPlaneEvent, for key: SessionKey) { events.append((key, event)) }
}

/// A server table and a client table joined in memory: GRE from one is fed to the other.
struct TablePair {
    var server = SessionTable(mode: .server)
    var client = SessionTable(mode: .client)
    var serverSink = CollectingSink()
    var clientSink = CollectingSink()
    var now = NIODeadline.uptimeNanoseconds(1_000_000_000)
    let serverAddress = IPv4Address(198, 51, 100, 1)
    let clientAddress = IPv4Address(198, 51, 100, 2)
    let serverKey: SessionKey
    let clientKey: SessionKey
    let assigned = IPv4Address(203, 0, 113, 11)

    init(clients: Int = 1) {
        serverKey = SessionKey(peer: clientAddress, callID: 0x2222)
        clientKey = SessionKey(peer: serverAddress, callID: 0x1111)
        let clientCall = CallInformation(
            callID: 0x1111,
            peerCallID: 0x2222,
            direction: .outgoing,
            peerWindow: 64,
            peerProcessingDelay: 0,
            framing: .asynchronous,
            connectSpeed: 0
        )
        let serverCall = CallInformation(
            callID: 0x2222,
            peerCallID: 0x1111,
            direction: .outgoing,
            peerWindow: 64,
            peerProcessingDelay: 0,
            framing: .asynchronous,
            connectSpeed: 0
        )
        let clientTunnel = TunnelSession(
            call: clientCall,
            gre: .init(),
            ppp: PPPSessionConfiguration(
                role: .client,
                credentials: ClientCredentials(userName: "alice", password: "pw"),
                ipcp: .requesting(preferred: .unspecified, requestDNS: false)
            ),
            random: SplitMix64(seed: 1)
        )
        let serverTunnel = TunnelSession(
            call: serverCall,
            gre: .init(),
            ppp: PPPSessionConfiguration(
                role: .server,
                name: "srv",
                ipcp: .assigning(local: IPv4Address(203, 0, 113, 1), peer: .unspecified, dns: [], nbns: [])
            ),
            random: SplitMix64(seed: 2)
        )
        server.apply(.add(serverKey, serverTunnel), now: now, sink: &serverSink)
        client.apply(.add(clientKey, clientTunnel), now: now, sink: &clientSink)
    }

    /// Moves packets and answers verifications until nothing moves; the clock jumps to the next
    /// deadline when idle, up to `limit`.
    mutating func run(until limit: NIODeadline? = nil) {
        for _ in 0..<100_000 {
            if !serverSink.gre.isEmpty {
                let (packet, peer) = serverSink.gre.removeFirst()
                #expect(peer == clientAddress)
                var bytes = packet
                bytes.withUnsafeMutableBytes { client.receiveGRE(from: serverAddress, $0, now: now, sink: &clientSink) }
                continue
            }
            if !clientSink.gre.isEmpty {
                let (packet, peer) = clientSink.gre.removeFirst()
                #expect(peer == serverAddress)
                var bytes = packet
                bytes.withUnsafeMutableBytes { server.receiveGRE(from: clientAddress, $0, now: now, sink: &serverSink) }
                continue
            }
            if let index = serverSink.events.firstIndex(where: {
                if case .verify = $0.1 { return true } else { return false }
            }) {
                let (key, event) = serverSink.events.remove(at: index)
                guard case .verify(let request) = event else { continue }
                let verdict = CredentialVerifier.verify(request, secret: .password("pw")).verdict
                server.apply(
                    .verdict(
                        key,
                        verdict,
                        addresses: .assigning(local: IPv4Address(203, 0, 113, 1), peer: assigned, dns: [], nbns: [])
                    ),
                    now: now,
                    sink: &serverSink
                )
                continue
            }
            guard let next = [server.nextDeadline, client.nextDeadline].compactMap({ $0 }).min() else { return }
            if let limit, next > limit { return }
            now = max(now, next)
            server.runTimers(now: now, sink: &serverSink)
            client.runTimers(now: now, sink: &clientSink)
        }
    }

    static func ipv4(from source: IPv4Address, to destination: IPv4Address, payload: Int = 20) -> [UInt8] {
        IPv4Packet.build(
            source: source,
            destination: destination,
            protocolNumber: 17,
            payload: (0..<payload).map { UInt8(truncatingIfNeeded: $0) }
        )
    }

    mutating func tunPacket(_ packet: [UInt8], intoClient: Bool) {
        var buffer = [UInt8](repeating: 0, count: TunnelSession.headroom) + packet
        let payload = TunnelSession.headroom..<buffer.count
        buffer.withUnsafeMutableBytes { raw in
            if intoClient {
                client.receiveTUN(raw, payload: payload, now: now, sink: &clientSink)
            } else {
                server.receiveTUN(raw, payload: payload, now: now, sink: &serverSink)
            }
        }
    }
}

extension TablePair {
    /// One GRE packet from the client's sink into the server's table; returns what the server sent.
    mutating func deliverToServer(_ packet: [UInt8]) -> [(packet: [UInt8], peer: IPv4Address)] {
        var bytes = packet
        bytes.withUnsafeMutableBytes { server.receiveGRE(from: clientAddress, $0, now: now, sink: &serverSink) }
        defer { serverSink.gre.removeAll() }
        return serverSink.gre
    }

    /// One GRE packet from the server into the client's table.
    mutating func deliverToClient(_ packet: [UInt8]) {
        var bytes = packet
        bytes.withUnsafeMutableBytes { client.receiveGRE(from: serverAddress, $0, now: now, sink: &clientSink) }
    }
}

@Suite struct SessionTableTests {
    /// The table writes acknowledgment-only packets itself (TunnelSession.receiveGRE with
    /// deferAcknowledgment): RFC 2637 §4.1 headers with A set and S clear, for the right call,
    /// acknowledging the packet just received.
    @Test func acknowledgmentOnlyPacketsOfAOneWayFlow() throws {
        var pair = TablePair()
        pair.run(until: pair.now + .seconds(5))
        pair.serverSink.gre.removeAll()
        pair.serverSink.tun.removeAll()
        pair.clientSink.gre.removeAll()
        let packet = TablePair.ipv4(from: pair.assigned, to: IPv4Address(198, 51, 100, 80))
        var acknowledgments: [(received: UInt32, acknowledged: UInt32)] = []
        // Rounds of 16 packets (within the window), the acknowledgments handed back after each.
        for _ in 0..<8 {
            for _ in 0..<16 { pair.tunPacket(packet, intoClient: true) }
            let sent = pair.clientSink.gre.map(\.packet)
            pair.clientSink.gre.removeAll()
            #expect(sent.count == 16)
            for gre in sent {
                let sequence = try #require(try gre.withUnsafeBytes { try GREHeader.parse($0) }.sequenceNumber)
                for reply in pair.deliverToServer(gre) {
                    let header = try reply.packet.withUnsafeBytes { try GREHeader.parse($0) }
                    #expect(header.sequenceNumber == nil)
                    #expect(header.payloadLength == 0)
                    #expect(reply.packet.count == 12)
                    #expect(header.callID == 0x1111)
                    #expect(reply.peer == pair.clientAddress)
                    acknowledgments.append((sequence, try #require(header.acknowledgmentNumber)))
                    pair.deliverToClient(reply.packet)
                }
            }
        }
        #expect(pair.serverSink.tun.count == 128)
        #expect(acknowledgments.count >= 4)
        for item in acknowledgments { #expect(item.acknowledged == item.received) }
    }

    @Test func packetTooLargeForThePeerIsAnsweredWithFragmentationNeeded() throws {
        // One TUN for all sessions: its MTU cannot fit every peer's MRU. A Don't-Fragment packet
        // above what the session's peer takes comes back as ICMP 3/4 with that size (RFC 1191).
        var pair = TablePair()
        pair.run(until: pair.now + .seconds(5))
        pair.serverSink.gre.removeAll()
        pair.serverSink.tun.removeAll()
        let sender = IPv4Address(198, 51, 100, 80)
        let largest = 1500 - 2 - 1  // MRU 1500 less MPPE's header and the inner protocol (PFC agreed)
        pair.tunPacket(TablePair.ipv4(from: sender, to: pair.assigned, payload: largest - 20), intoClient: false)
        #expect(pair.serverSink.gre.count == 1, "a packet of exactly the size passes")
        #expect(pair.serverSink.tun.isEmpty)
        let big = TablePair.ipv4(from: sender, to: pair.assigned, payload: largest - 19)
        pair.tunPacket(big, intoClient: false)
        #expect(pair.serverSink.gre.count == 1)
        let reply = try #require(pair.serverSink.tun.first)
        let header = try reply.withUnsafeBytes { try IPv4Packet.parse($0).get() }
        #expect(header.protocolNumber == 1)
        #expect(header.source == IPv4Address(203, 0, 113, 1))
        #expect(header.destination == sender)
        #expect(Array(reply[20..<22]) == [3, 4])
        #expect(Int(reply[26]) << 8 | Int(reply[27]) == largest)
        #expect(Array(reply[28...]) == Array(big.prefix(28)))
        #expect(reply.withUnsafeBytes { IPv4Packet.checksum(UnsafeRawBufferPointer(rebasing: $0[20...])) } == 0)
        #expect(pair.server.counters.fragmentationNeededSent == 1)
    }

    @Test func sessionsComeUpAndRouteByClientAddress() {
        var pair = TablePair()
        pair.run(until: pair.now + .seconds(5))
        #expect(
            pair.clientSink.events.contains { if case .ppp(.networkUp) = $0.1 { return true } else { return false } }
        )
        #expect(
            pair.serverSink.events.contains {
                if case .ppp(.networkUp(let s)) = $0.1 { return s.peerAddress == pair.assigned } else { return false }
            }
        )
        // Client → server: the packet comes out of the server's TUN.
        let up = TablePair.ipv4(from: pair.assigned, to: IPv4Address(198, 51, 100, 80))
        pair.tunPacket(up, intoClient: true)
        pair.run(until: pair.now)
        #expect(pair.serverSink.tun == [up])
        // Server → client by destination address.
        let down = TablePair.ipv4(from: IPv4Address(198, 51, 100, 80), to: pair.assigned)
        pair.tunPacket(down, intoClient: false)
        pair.run(until: pair.now)
        #expect(pair.clientSink.tun == [down])
        // An address without a session is dropped and counted.
        pair.tunPacket(
            TablePair.ipv4(from: IPv4Address(198, 51, 100, 80), to: IPv4Address(203, 0, 113, 99)),
            intoClient: false
        )
        #expect(pair.server.counters.tunNoSession == 1)
    }

    @Test func spoofedSourceAddressesAreDropped() {
        var pair = TablePair()
        pair.run(until: pair.now + .seconds(5))
        pair.tunPacket(
            TablePair.ipv4(from: IPv4Address(203, 0, 113, 99), to: IPv4Address(198, 51, 100, 80)),
            intoClient: true
        )
        pair.run(until: pair.now)
        #expect(pair.serverSink.tun.isEmpty)
        #expect(pair.server.counters.spoofedSource == 1)
    }

    @Test func greFromAnotherPeerOrCallIsDroppedAndCounted() {
        var pair = TablePair()
        var buffer = ByteBuffer()
        GREPacket(header: GREHeader(payloadLength: 0, callID: 0x2222, sequenceNumber: 0), payload: ByteBuffer()).write(
            to: &buffer
        )
        var bytes = Array(buffer.readableBytesView)
        bytes.withUnsafeMutableBytes {
            pair.server.receiveGRE(from: IPv4Address(192, 0, 2, 99), $0, now: pair.now, sink: &pair.serverSink)
        }
        #expect(pair.server.counters.greUnknownSession == 1)
    }

    @Test func clearedCallIsRemovedWithItsStatistics() {
        var pair = TablePair()
        pair.run(until: pair.now + .seconds(5))
        pair.server.apply(.callCleared(pair.serverKey), now: pair.now, sink: &pair.serverSink)
        #expect(pair.server.count == 0)
        #expect(pair.serverSink.events.contains { if case .removed = $0.1 { return true } else { return false } })
        #expect(
            pair.serverSink.events.contains {
                if case .ppp(.down(.lowerLayerDown)) = $0.1 { return true } else { return false }
            }
        )
    }

    @Test func timersOfManySessionsAreRunFromOneHeap() {
        var table = SessionTable(mode: .server)
        var sink = CollectingSink()
        let now = NIODeadline.uptimeNanoseconds(1_000_000_000)
        for i in 0..<500 {
            let call = CallInformation(
                callID: UInt16(i),
                peerCallID: 1,
                direction: .outgoing,
                peerWindow: 64,
                peerProcessingDelay: 0,
                framing: .asynchronous,
                connectSpeed: 0
            )
            let tunnel = TunnelSession(
                call: call,
                gre: .init(),
                ppp: PPPSessionConfiguration(
                    role: .server,
                    ipcp: .assigning(local: IPv4Address(203, 0, 113, 1), peer: .unspecified, dns: [], nbns: [])
                ),
                random: SplitMix64(seed: UInt64(i))
            )
            table.apply(
                .add(SessionKey(peer: IPv4Address(198, 51, 100, 2), callID: UInt16(i)), tunnel),
                now: now,
                sink: &sink
            )
        }
        #expect(sink.gre.count == 500)  // one LCP Configure-Request each
        #expect(table.nextDeadline.map { $0 <= now + .seconds(3) } == true)
        table.runTimers(now: now + .seconds(3), sink: &sink)
        #expect(sink.gre.count == 1000)  // each retransmitted once
    }
}
