import NIOCore
import PPP
import Testing

@testable import PPTP

/// A client tunnel (PNS) and a server tunnel (PAC) joined in memory by their GRE packets.
struct TunnelPair {
    var client: TunnelSession
    var server: TunnelSession
    var now = NIODeadline.uptimeNanoseconds(1_000_000_000)
    var toServer: [[UInt8]] = []
    var toClient: [[UInt8]] = []
    var deliveredToServer: [[UInt8]] = []
    var deliveredToClient: [[UInt8]] = []
    var clientEvents: [PPPSessionEvent] = []
    var serverEvents: [PPPSessionEvent] = []
    /// Reverse the order of every `reorderEvery`-th pair of packets towards the server.
    var reorderEvery = 0
    var counter = 0

    init(policy: PPPPolicy = .default) {
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
        client = TunnelSession(
            call: clientCall,
            gre: .init(),
            ppp: PPPSessionConfiguration(
                role: .client,
                policy: policy,
                credentials: ClientCredentials(userName: "alice", password: "Alice-Secret-1"),
                ipcp: .requesting(preferred: .unspecified, requestDNS: true)
            ),
            random: SplitMix64(seed: 1)
        )
        server = TunnelSession(
            call: serverCall,
            gre: .init(),
            ppp: PPPSessionConfiguration(
                role: .server,
                policy: policy,
                name: "pptpd",
                ipcp: .assigning(
                    local: IPv4Address(203, 0, 113, 1),
                    peer: IPv4Address(203, 0, 113, 11),
                    dns: [],
                    nbns: []
                )
            ),
            random: SplitMix64(seed: 2)
        )
    }

    mutating func apply(_ actions: [TunnelAction], fromClient: Bool) {
        for action in actions {
            switch action {
            case .sendGRE(let packet):
                let bytes = Array(packet.readableBytesView)
                if fromClient { toServer.append(bytes) } else { toClient.append(bytes) }
            case .deliver(_, let bytes):
                if fromClient { deliveredToClient.append(bytes) } else { deliveredToServer.append(bytes) }
            case .verify(let request):
                let verdict = CredentialVerifier.verify(request, secret: .password("Alice-Secret-1")).verdict
                apply(server.receive(verdict: verdict, now: now), fromClient: false)
            case .ppp(let event):
                if fromClient { clientEvents.append(event) } else { serverEvents.append(event) }
            }
        }
    }

    mutating func deliver(_ bytes: [UInt8], toServer: Bool) {
        var buffer = bytes
        let (packet, actions) = buffer.withUnsafeMutableBytes { raw in
            toServer ? server.receiveGRE(raw, now: now) : client.receiveGRE(raw, now: now)
        }
        switch packet {
        case .ipv4(let range), .ipv6(let range):
            if toServer {
                deliveredToServer.append(Array(buffer[range]))
            } else {
                deliveredToClient.append(Array(buffer[range]))
            }
        case nil: break
        }
        apply(actions, fromClient: !toServer)
    }

    mutating func run(until done: (TunnelPair) -> Bool = { _ in false }) {
        for _ in 0..<100_000 {
            if done(self) { return }
            if toServer.count >= 2 && reorderEvery > 0 {
                counter += 1
                if counter % reorderEvery == 0 { toServer.swapAt(0, 1) }
            }
            if !toServer.isEmpty {
                deliver(toServer.removeFirst(), toServer: true)
                continue
            }
            if !toClient.isEmpty {
                deliver(toClient.removeFirst(), toServer: false)
                continue
            }
            guard let next = [client.nextDeadline, server.nextDeadline].compactMap({ $0 }).min() else { return }
            if next > now { now = next }
            apply(client.timeout(now: now), fromClient: true)
            apply(server.timeout(now: now), fromClient: false)
        }
    }

    mutating func send(_ payload: [UInt8], fromClient: Bool) -> Bool {
        var buffer = [UInt8](repeating: 0, count: TunnelSession.headroom) + payload
        let result = buffer.withUnsafeMutableBytes { raw in
            fromClient
                ? client.send(.ipv4, in: raw, payload: TunnelSession.headroom..<raw.count, now: now)
                : server.send(.ipv4, in: raw, payload: TunnelSession.headroom..<raw.count, now: now)
        }
        guard case .success(let range) = result else { return false }
        if fromClient { toServer.append(Array(buffer[range])) } else { toClient.append(Array(buffer[range])) }
        return true
    }
}

@Suite struct TunnelSessionTests {
    @Test func clientAndServerTunnelsComeUpAndCarryData() {
        var pair = TunnelPair()
        apply(&pair)
        pair.run(until: {
            $0.client.ppp.isNetworkUp && $0.server.ppp.isNetworkUp && $0.toServer.isEmpty && $0.toClient.isEmpty
        })
        #expect(pair.client.ppp.isNetworkUp)
        #expect(pair.server.ppp.isNetworkUp)
        var sent: [[UInt8]] = []
        for i in 0..<200 {
            let payload = (0..<(64 + i)).map { UInt8(truncatingIfNeeded: $0 ^ i) }
            let accepted = pair.send(payload, fromClient: true)
            #expect(accepted)
            sent.append(payload)
            // The peer's window (half of 64 at first, RFC 2637 §4.2.1) needs acknowledgments.
            if i % 16 == 15 { pair.run(until: { $0.toServer.isEmpty && $0.toClient.isEmpty }) }
        }
        pair.run(until: { $0.toServer.isEmpty && $0.toClient.isEmpty })
        #expect(pair.deliveredToServer == sent)
        #expect(pair.server.sequencer.counters.delivered >= 200)
    }

    @Test func reorderedGREPacketsAreDeliveredInOrder() {
        var pair = TunnelPair()
        apply(&pair)
        pair.run(until: {
            $0.client.ppp.isNetworkUp && $0.server.ppp.isNetworkUp && $0.toServer.isEmpty && $0.toClient.isEmpty
        })
        pair.reorderEvery = 3
        var sent: [[UInt8]] = []
        for i in 0..<100 {
            let payload = [UInt8(i), 1, 2, 3]
            _ = pair.send(payload, fromClient: true)
            sent.append(payload)
            if i % 16 == 15 { pair.run(until: { $0.toServer.isEmpty && $0.toClient.isEmpty }) }
        }
        pair.run(until: { $0.toServer.isEmpty && $0.toClient.isEmpty && $0.server.sequencer.heldCount == 0 })
        #expect(pair.deliveredToServer == sent)
        #expect(pair.server.sequencer.counters.reordered > 0)
        #expect(pair.server.sequencer.counters.lost == 0)
    }

    @Test func oneWayTrafficIsAcknowledgedSoTheWindowStaysOpen() {
        var pair = TunnelPair()
        apply(&pair)
        pair.run(until: {
            $0.client.ppp.isNetworkUp && $0.server.ppp.isNetworkUp && $0.toServer.isEmpty && $0.toClient.isEmpty
        })
        var accepted = 0
        for _ in 0..<1000 {
            if pair.send([1, 2, 3, 4], fromClient: true) { accepted += 1 }
            // Deliver as we go; the server acknowledges alone when half its window is unacked.
            pair.run(until: { $0.toServer.isEmpty && $0.toClient.isEmpty })
        }
        #expect(accepted == 1000)
        #expect(pair.server.sequencer.counters.acksSent > 0)
        #expect(pair.client.sequencer.counters.droppedForWindow == 0)
    }

    @Test func greForAnotherCallIsCounted() {
        var pair = TunnelPair()
        var buffer = ByteBuffer()
        GREPacket(header: GREHeader(payloadLength: 0, callID: 0x9999, sequenceNumber: 0), payload: ByteBuffer()).write(
            to: &buffer
        )
        var bytes = Array(buffer.readableBytesView)
        let t = pair.now
        _ = bytes.withUnsafeMutableBytes { raw in pair.server.receiveGRE(raw, now: t) }
        #expect(pair.server.counters.wrongCallID == 1)
        var junk: [UInt8] = [1, 2, 3]
        let now = pair.now
        _ = junk.withUnsafeMutableBytes { raw in pair.server.receiveGRE(raw, now: now) }
        #expect(pair.server.counters.malformedGRE == 1)
    }

    private func apply(_ pair: inout TunnelPair) {
        let clientStart = pair.client.start(now: pair.now)
        pair.apply(clientStart, fromClient: true)
        let serverStart = pair.server.start(now: pair.now)
        pair.apply(serverStart, fromClient: false)
    }
}
