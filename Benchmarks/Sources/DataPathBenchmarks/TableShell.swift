import MSCrypto
import NIOCore
import PPP
import PPTP
import PPTPNetwork

// MARK: - Through the data plane's SessionTable

/// Stands where the data plane's socket and TUN writer stand: it remembers where the table put the packet it sent or
/// delivered (a view into the caller's buffer, as `sendmmsg` and the TUN write would take it), and copies the
/// acknowledgment the table sends from its own scratch space into a fixed buffer, as the send batch does. While
/// the link is being negotiated it keeps copies of what was sent instead, to carry them to the other table.
struct RecordingSink: DataPlaneSink {
    var negotiating = true
    var queued: [[UInt8]] = []
    var verifies: [AuthenticationRequest] = []
    var networkUp = false
    var down: [String] = []
    /// The last GRE packet sent on the packet path, where it lies.
    var sent: UnsafeRawBufferPointer?
    /// The last IP packet delivered, where it lies.
    var delivered: UnsafeRawBufferPointer?
    /// The acknowledgment-only packet sent by the last receive, copied (it lives in the table's scratch space).
    let acknowledgment = UnsafeMutableRawBufferPointer.allocate(byteCount: GREHeader.maximumLength, alignment: 4)
    var acknowledgmentLength = 0

    mutating func sendGRE(_ packet: UnsafeRawBufferPointer, to peer: IPv4Address, from local: IPv4Address) {
        if negotiating {
            queued.append(Array(packet))
        } else if packet.count <= GREHeader.maximumLength && sent == nil {
            acknowledgment.copyMemory(from: packet)
            acknowledgmentLength = packet.count
            sent = packet
        } else {
            sent = packet
        }
    }

    mutating func deliver(_ packet: UnsafeRawBufferPointer) { delivered = packet }

    mutating func report(_ event: DataPlaneEvent, for key: SessionKey) {
        switch event {
        case .verify(let request): verifies.append(request)
        case .ppp(.networkUp): networkUp = true
        case .ppp(.down(let reason)): down.append("\(key): \(reason)")
        default: break
        }
    }
}

/// A stateless MPPE-128 client and server, each in a `SessionTable` of PPTPNetwork (client mode and server mode) and
/// driven through the table's entry points exactly as the data-plane thread drives them: `receiveTUN` for the
/// client's packets, `receiveGRE` on both sides (the server's anti-spoofing check, the deferred acknowledgment written
/// without allocation, the deadline rescheduled after every packet), `runTimers` between batches.
struct TableShell: Shell {
    var now: NIODeadline
    var client = SessionTable(mode: .client)
    var server = SessionTable(mode: .server)
    var clientSink = RecordingSink()
    var serverSink = RecordingSink()
    static let clientPeer = IPv4Address(198, 51, 100, 2)
    static let serverPeer = IPv4Address(198, 51, 100, 1)
    let clientKey = SessionKey(peer: TableShell.serverPeer, callID: 0x1111)
    let serverKey = SessionKey(peer: TableShell.clientPeer, callID: 0x2222)

    /// Adds the two sessions of a fresh (not negotiated) link and negotiates through the tables.
    init(link: consuming Link) {
        now = link.now
        client.apply(.add(clientKey, link.client), now: now, sink: &clientSink)
        server.apply(.add(serverKey, link.server), now: now, sink: &serverSink)
        for _ in 0..<1000 {
            pump()
            if clientSink.networkUp && serverSink.networkUp { break }
            guard let next = [client.nextDeadline, server.nextDeadline].compactMap({ $0 }).min() else { break }
            if next > now { now = next }
            client.runTimers(now: now, sink: &clientSink)
            server.runTimers(now: now, sink: &serverSink)
        }
        precondition(clientSink.down.isEmpty && serverSink.down.isEmpty, "down: \(clientSink.down + serverSink.down)")
        precondition(clientSink.networkUp && serverSink.networkUp, "the link through the tables did not come up")
        clientSink.negotiating = false
        serverSink.negotiating = false
    }

    /// Carries what each table sent to the other, answering the server's authentication as `pptp serve` would.
    private mutating func pump() {
        while !clientSink.queued.isEmpty || !serverSink.queued.isEmpty || !serverSink.verifies.isEmpty {
            for request in serverSink.verifies {
                let verdict = CredentialVerifier.verify(request, secret: .password(Link.password)).verdict
                server.apply(.verdict(serverKey, verdict, addresses: nil), now: now, sink: &serverSink)
            }
            serverSink.verifies = []
            let toServer = clientSink.queued
            clientSink.queued = []
            for var bytes in toServer {
                bytes.withUnsafeMutableBytes {
                    server.receiveGRE(from: Self.clientPeer, $0, now: now, sink: &serverSink)
                }
            }
            let toClient = serverSink.queued
            serverSink.queued = []
            for var bytes in toClient {
                bytes.withUnsafeMutableBytes {
                    client.receiveGRE(from: Self.serverPeer, $0, now: now, sink: &clientSink)
                }
            }
        }
    }

    mutating func clientReceive(_ packet: UnsafeMutableRawBufferPointer, now: NIODeadline) -> Int {
        client.receiveGRE(from: Self.serverPeer, packet, now: now, sink: &clientSink)
        clientSink.sent = nil
        return 0
    }

    mutating func clientSend(
        _ buffer: UnsafeMutableRawBufferPointer,
        payload: Range<Int>,
        now: NIODeadline
    ) -> Result<Range<Int>, PPPDropReason> {
        clientSink.sent = nil
        client.receiveTUN(buffer, payload: payload, now: now, sink: &clientSink)
        guard let sent = clientSink.sent else { return .failure(.encryptionNotNegotiated) }
        let start = UnsafeRawPointer(buffer.baseAddress!).distance(to: sent.baseAddress!)
        return .success(start..<(start + sent.count))
    }

    mutating func serverReceive(_ packet: UnsafeMutableRawBufferPointer, now: NIODeadline) -> Received {
        serverSink.delivered = nil
        serverSink.sent = nil
        server.receiveGRE(from: Self.clientPeer, packet, now: now, sink: &serverSink)
        var found: TunnelPacket?
        if let delivered = serverSink.delivered {
            let start = UnsafeRawPointer(packet.baseAddress!).distance(to: delivered.baseAddress!)
            found = .ipv4(start..<(start + delivered.count))
        }
        var acknowledgment: GREHeader?
        if serverSink.sent != nil {
            acknowledgment = try? GREHeader.parse(
                UnsafeRawBufferPointer(rebasing: serverSink.acknowledgment[..<serverSink.acknowledgmentLength])
            )
        }
        return (found, [], acknowledgment)
    }

    /// Timers between batches, with their packets carried as during the negotiation.
    mutating func afterBatch() {
        clientSink.negotiating = true
        serverSink.negotiating = true
        client.runTimers(now: now, sink: &clientSink)
        server.runTimers(now: now, sink: &serverSink)
        pump()
        clientSink.negotiating = false
        serverSink.negotiating = false
        precondition(clientSink.down.isEmpty && serverSink.down.isEmpty, "down: \(clientSink.down + serverSink.down)")
    }
}
