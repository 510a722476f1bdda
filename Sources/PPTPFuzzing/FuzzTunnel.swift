import MSCrypto
import NIOCore
import PPP
import PPTP

/// The data path's receive side under attack: a client and a server tunnel with MS-CHAPv2 and
/// MPPE-128 up (keys fixed by the handshake of a fixed seed), joined in memory.
extension FuzzEntryPoints {
    /// The input is a script of records — a selector octet, a length octet and that many octets:
    /// a GRE packet from an attacker who knows the Call ID and spoofs the client's address, a
    /// genuine datagram from the client, a loss, reordering or duplication of the genuine packets in
    /// flight, a genuine packet with one octet changed, or a jump of the clock. The first octet
    /// chooses stateless or stateful MPPE.
    ///
    /// Checked: no trap; the reorder buffer stays bounded; nothing the attacker sent alone reaches
    /// the server's TUN (every delivered packet has the client's source address and a header that
    /// a genuine packet had); and, in stateless mode, the session outlives the attack: once the
    /// script ends, a genuine datagram gets through (RFC 3078 §3: every stateless packet carries
    /// its own key, so nothing the attacker sends may leave the receiver dark).
    public static func tunnel(_ data: [UInt8]) {
        let stateful = (data.first ?? 0) & 1 == 1
        guard var pair = stateful ? FuzzTunnelPair.statefulUp : FuzzTunnelPair.statelessUp else { return }
        var index = 1
        var genuineHeaders: Set<[UInt8]> = []
        var lastGenuine: [UInt8]?
        var records = 0
        while index + 2 <= data.count, records < 200 {
            let selector = data[index]
            let length = Int(data[index + 1])
            let start = index + 2
            let end = min(data.count, start + length)
            let body = Array(data[start..<end])
            index = end
            records += 1
            switch selector % 6 {
            case 0:
                pair.deliverToServer(body)
            case 1:
                let datagram = FuzzTunnelPair.datagram(body, number: records)
                genuineHeaders.insert(Array(datagram.prefix(20)))
                if let packet = pair.sendFromClient(datagram) { lastGenuine = packet }
            case 2:
                pair.disturb(body.first ?? 0)
            case 3:
                // A replay of a packet already delivered, one octet changed (the attacker saw it
                // go by; an attacker on the path could simply drop traffic, so it is not modelled).
                guard var forged = lastGenuine, !forged.isEmpty, body.count >= 2 else { break }
                pair.flush()
                let position = (Int(body[0]) << 8 | Int(body[1])) % forged.count
                forged[position] ^= body.count > 2 ? max(body[2], 1) : 0x80
                pair.deliverToServer(forged)
            case 4:
                pair.now = pair.now + .milliseconds(Int64(body.first ?? 0) * 40)
                pair.timeouts()
            default:
                pair.flush()
            }
            precondition(pair.server.sequencer.heldCount <= 64, "the reorder buffer grows without bound")
        }
        pair.flush()
        for delivered in pair.deliveredToServer {
            precondition(
                delivered.count >= 20 && genuineHeaders.contains(Array(delivered.prefix(20))),
                "a packet no genuine peer sent reached the TUN"
            )
        }
        guard !stateful, !pair.server.isDown, !pair.client.isDown else { return }
        // After the attack: the reorder time-out passes, then genuine traffic must flow again.
        pair.now = pair.now + .seconds(2)
        pair.timeouts()
        pair.flush()
        let before = pair.deliveredToServer.count
        for attempt in 0..<3 {
            _ = pair.sendFromClient(FuzzTunnelPair.datagram([0xAB], number: 1000 + attempt))
            pair.flush()
        }
        // Packets after a gap wait for the reorder time-out (RFC 2637 §4.3 leaves the wait to us).
        pair.now = pair.now + .seconds(2)
        pair.timeouts()
        pair.flush()
        precondition(pair.deliveredToServer.count > before, "a stateless session went dark after an attack")
    }
}

/// Two tunnels joined in memory, brought up once per process and copied for every input.
struct FuzzTunnelPair {
    var client: TunnelSession
    var server: TunnelSession
    var now = NIODeadline.uptimeNanoseconds(1_000_000_000)
    /// Genuine packets in flight from the client, in order.
    var inFlight: [[UInt8]] = []
    var toClient: [[UInt8]] = []
    var deliveredToServer: [[UInt8]] = []

    static let clientAddress = IPv4Address(203, 0, 113, 11)
    static let serverAddress = IPv4Address(203, 0, 113, 1)
    static let password = "Fuzz-Secret-1"

    static let statelessUp = FuzzTunnelPair.up(stateful: false)
    static let statefulUp = FuzzTunnelPair.up(stateful: true)

    static func up(stateful: Bool) -> FuzzTunnelPair? {
        let encryption = EncryptionPolicy(strengths: [.bits128], allowStateful: stateful, preferStateful: stateful)
        let policy = PPPPolicy(authentication: [.msCHAPv2], encryption: encryption)
        func call(_ id: UInt16, _ peer: UInt16) -> CallInformation {
            CallInformation(
                callID: id,
                peerCallID: peer,
                direction: .outgoing,
                peerWindow: 64,
                peerProcessingDelay: 0,
                framing: .asynchronous,
                connectSpeed: 0
            )
        }
        var pair = FuzzTunnelPair(
            client: TunnelSession(
                call: call(0x1111, 0x2222),
                gre: .init(),
                ppp: PPPSessionConfiguration(
                    role: .client,
                    policy: policy,
                    credentials: ClientCredentials(userName: "fuzz", password: password),
                    ipcp: .requesting(preferred: .unspecified, requestDNS: false)
                ),
                random: SplitMix64(seed: 11)
            ),
            server: TunnelSession(
                call: call(0x2222, 0x1111),
                gre: .init(),
                ppp: PPPSessionConfiguration(
                    role: .server,
                    policy: policy,
                    name: "pptp",
                    ipcp: .assigning(local: serverAddress, peer: clientAddress, dns: [], nbns: [])
                ),
                random: SplitMix64(seed: 12)
            )
        )
        pair.apply(pair.client.start(now: pair.now), fromClient: true)
        pair.apply(pair.server.start(now: pair.now), fromClient: false)
        for _ in 0..<200 where !(pair.client.ppp.isNetworkUp && pair.server.ppp.isNetworkUp) {
            pair.flush()
            if pair.client.ppp.isNetworkUp && pair.server.ppp.isNetworkUp { break }
            guard let next = [pair.client.nextDeadline, pair.server.nextDeadline].compactMap({ $0 }).min() else {
                break
            }
            pair.now = max(pair.now, next)
            pair.timeouts()
        }
        guard pair.client.ppp.isNetworkUp, pair.server.ppp.isNetworkUp else { return nil }
        pair.flush()
        pair.deliveredToServer = []
        return pair
    }

    /// A UDP datagram from the client's tunnel address carrying `body`.
    static func datagram(_ body: [UInt8], number: Int) -> [UInt8] {
        IPv4Packet.build(
            source: clientAddress,
            destination: serverAddress,
            protocolNumber: 17,
            identification: UInt16(truncatingIfNeeded: number),
            payload: body
        )
    }

    mutating func apply(_ actions: [TunnelAction], fromClient: Bool) {
        for action in actions {
            switch action {
            case .sendGRE(let packet):
                let bytes = Array(packet.readableBytesView)
                if fromClient { inFlight.append(bytes) } else { toClient.append(bytes) }
            case .deliver(_, let bytes):
                if !fromClient { deliveredToServer.append(bytes) }
            case .verify(let request):
                let verdict = CredentialVerifier.verify(request, secret: .password(Self.password)).verdict
                apply(server.receive(verdict: verdict, now: now), fromClient: false)
            case .ppp, .anomaly:
                break
            }
        }
    }

    /// The client sends `datagram`; returns the GRE packet now in flight.
    mutating func sendFromClient(_ datagram: [UInt8]) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: TunnelSession.headroom) + datagram
        let result = buffer.withUnsafeMutableBytes { raw in
            client.send(.ipv4, in: raw, payload: TunnelSession.headroom..<raw.count, now: now)
        }
        guard case .success(let range) = result else { return nil }
        let packet = Array(buffer[range])
        inFlight.append(packet)
        return packet
    }

    mutating func deliverToServer(_ bytes: [UInt8]) {
        var buffer = bytes
        let (packet, actions) = buffer.withUnsafeMutableBytes { server.receiveGRE($0, now: now) }
        if case .ipv4(let range) = packet { deliveredToServer.append(Array(buffer[range])) }
        if case .ipv6(let range) = packet { deliveredToServer.append(Array(buffer[range])) }
        apply(actions, fromClient: false)
    }

    mutating func deliverToClient(_ bytes: [UInt8]) {
        var buffer = bytes
        let (_, actions) = buffer.withUnsafeMutableBytes { client.receiveGRE($0, now: now) }
        apply(actions, fromClient: true)
    }

    /// What the network does to the genuine packets in flight: lose, reorder or duplicate one.
    mutating func disturb(_ how: UInt8) {
        guard !inFlight.isEmpty else { return }
        switch how % 3 {
        case 0: inFlight.removeFirst()
        case 1: if inFlight.count >= 2 { inFlight.swapAt(0, 1) }
        default: inFlight.insert(inFlight[0], at: 0)
        }
    }

    mutating func timeouts() {
        apply(client.timeout(now: now), fromClient: true)
        apply(server.timeout(now: now), fromClient: false)
    }

    /// Delivers everything in flight both ways (bounded: answers may cause answers).
    mutating func flush() {
        for _ in 0..<1000 {
            if !inFlight.isEmpty {
                deliverToServer(inFlight.removeFirst())
            } else if !toClient.isEmpty {
                deliverToClient(toClient.removeFirst())
            } else {
                return
            }
        }
    }
}
