import NIOCore
import PropertyBased
import Testing

@testable import PPP

@Suite struct SessionPropertyTests {
    /// Valid packets of every protocol the session knows, as raw material for random sequences.
    static let material: [(PPPProtocolNumber, [UInt8])] = [
        (.lcp, LCPMessage.configureRequest([.magicNumber(7), .protocolFieldCompression]).packet(identifier: 1).bytes),
        (
            .lcp,
            LCPMessage.configureRequest([.authenticationProtocol(.msCHAPv2), .magicNumber(9)]).packet(identifier: 2)
                .bytes
        ),
        (.lcp, LCPMessage.configureAck([]).packet(identifier: 1).bytes),
        (.lcp, LCPMessage.configureNak([.maximumReceiveUnit(1400)]).packet(identifier: 1).bytes),
        (.lcp, LCPMessage.configureReject([.addressAndControlFieldCompression]).packet(identifier: 1).bytes),
        (.lcp, LCPMessage.terminateRequest(Array("bye".utf8)).packet(identifier: 3).bytes),
        (.lcp, LCPMessage.terminateAck([]).packet(identifier: 3).bytes),
        (.lcp, LCPMessage.echoRequest(magic: 1, data: [1, 2]).packet(identifier: 4).bytes),
        (.lcp, LCPMessage.protocolReject(.ccp, information: [1]).packet(identifier: 5).bytes),
        (.lcp, LCPMessage.codeReject([1, 1, 0, 4]).packet(identifier: 6).bytes),
        (.chap, CHAPMessage.challenge(value: Array(repeating: 1, count: 16), name: [0x41]).packet(identifier: 1).bytes),
        (.chap, CHAPMessage.response(value: Array(repeating: 2, count: 49), name: [0x61]).packet(identifier: 1).bytes),
        (
            .chap,
            CHAPMessage.success(message: Array("S=0000000000000000000000000000000000000000 M=ok".utf8)).packet(
                identifier: 1
            ).bytes
        ),
        (.chap, CHAPMessage.failure(message: Array("E=691 R=1 C=00 V=3 M=no".utf8)).packet(identifier: 1).bytes),
        (.pap, PAPMessage.authenticateRequest(peerID: [0x61], password: [0x62]).packet(identifier: 1).bytes),
        (.ccp, CCPMessage.configureRequest([.mppe([.stateless, .bits128])]).packet(identifier: 1).bytes),
        (.ccp, CCPMessage.resetRequest([]).packet(identifier: 2).bytes),
        (
            .ipcp,
            IPCPMessage.configureRequest([.ipAddress(.unspecified), .primaryDNS(.unspecified)]).packet(identifier: 1)
                .bytes
        ),
        (.ipcp, IPCPMessage.configureNak([.ipAddress(IPv4Address(203, 0, 113, 5))]).packet(identifier: 1).bytes),
        (.ipv6cp, IPV6CPMessage.configureRequest([.interfaceIdentifier(1)]).packet(identifier: 1).bytes),
        (PPPProtocolNumber(0x8281), [1, 1, 0, 4]),
    ]

    @Test(arguments: [PPPSessionConfiguration.Role.server, .client])
    func randomPacketsNeverTrapAndTheSessionEndsWithinBoundedTimeouts(role: PPPSessionConfiguration.Role) async {
        await propertyCheck(count: 100, input: Gen.uint8(in: 0...255).array(of: 0...400)) { seed in
            var source = ByteSource(seed)
            let configuration = PPPSessionConfiguration(
                role: role,
                credentials: ClientCredentials(userName: "u", password: "p"),
                ipcp: role == .server
                    ? .assigning(
                        local: IPv4Address(203, 0, 113, 1),
                        peer: IPv4Address(203, 0, 113, 2),
                        dns: [],
                        nbns: []
                    )
                    : .requesting(preferred: .unspecified, requestDNS: true)
            )
            var session = PPPSession(configuration: configuration, random: SplitMix64(seed: UInt64(seed.count)))
            var now = NIODeadline.uptimeNanoseconds(0)
            _ = session.start(now: now)
            for _ in 0..<(source.byte() % 40) {
                let (proto, base) = Self.material[Int(source.byte()) % Self.material.count]
                var bytes = base
                // Mutate: flip octets, truncate, or keep.
                switch source.byte() % 4 {
                case 0: if !bytes.isEmpty { bytes[Int(source.byte()) % bytes.count] ^= source.byte() | 1 }
                case 1: bytes = Array(bytes.prefix(Int(source.byte()) % (bytes.count + 1)))
                case 2: if bytes.count > 1 { bytes[1] = source.byte() }  // identifier
                default: break
                }
                let actions = session.receive(proto, information: bytes, now: now)
                // One packet never makes the engine send more than a handful of frames.
                #expect(actions.count <= 8)
                if source.byte() % 3 == 0, let deadline = session.nextDeadline {
                    now = max(now, deadline)
                    #expect(session.timeout(now: now).count <= 8)
                }
            }
            // With nothing more from the peer, the session ends (or is up) within a bounded
            // number of timeouts.
            var timeouts = 0
            while session.downReason == nil && !session.isNetworkUp, let deadline = session.nextDeadline, timeouts < 200
            {
                now = max(now, deadline)
                _ = session.timeout(now: now)
                timeouts += 1
            }
            #expect(session.downReason != nil || session.isNetworkUp)
            #expect(timeouts < 200)
        }
    }

    @Test func randomVerdictsNeverConfuseTheServer() async {
        await propertyCheck(count: 30, input: Gen.uint8(in: 0...255).array(of: 1...20)) { choices in
            var pair = SessionPair()
            pair.start()
            pair.run(until: { $0.server.phase == .authenticate })
            for choice in choices {
                let verdict: AuthenticationVerdict =
                    choice % 2 == 0
                    ? .accept(authenticatorResponse: nil) : .reject(.init(rawValue: Int(choice)), message: "x")
                _ = pair.server.receive(verdict: verdict, now: pair.now)
            }
            pair.run()
            #expect(pair.serverDown != nil || pair.server.isNetworkUp)
        }
    }
}
