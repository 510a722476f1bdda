import Foundation
import MSCrypto
import NIOCore
import PPTP
import PPTPCapture
import Testing

@testable import PPP

/// One capture of `Tests/Fixtures/captures` with what its manifest says.
struct GoldenSession: Sendable, CustomStringConvertible {
    var name: String
    var pcap: String
    var user: String
    var password: String
    var clientPassword: String
    var serverOptions: [String]
    var clientOptions: [String]
    var clientAddress: IPv4Address?
    var description: String { name }

    static let directory: URL = {
        var url = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("Fixtures/captures")
    }()

    static let all: [GoldenSession] = {
        guard let data = try? Data(contentsOf: directory.appendingPathComponent("manifest.json")),
            let list = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]]
        else { return [] }
        return list.compactMap { entry in
            guard let name = entry["name"] as? String, let pcap = entry["pcap"] as? String,
                let user = entry["username"] as? String,
                let password = entry["password"] as? String
            else { return nil }
            let tunnel = entry["tunnel"] as? [String: String]
            return GoldenSession(
                name: name,
                pcap: directory.appendingPathComponent(pcap).path,
                user: user,
                password: password,
                clientPassword: entry["client_password_used"] as? String ?? password,
                serverOptions: (entry["server_pppd_options"] as? String ?? "").split(separator: " ").map(String.init),
                clientOptions: (entry["client_pppd_options"] as? String ?? "").split(separator: " ").map(String.init),
                clientAddress: tunnel?["client_ip"].flatMap { IPv4Address($0) }
            )
        }
    }()

    /// The server's policy, from pptpd's pppd options.
    var serverPolicy: PPPPolicy {
        var methods: [AuthenticationMethod] = []
        if serverOptions.contains("require-mschap-v2") { methods.append(.msCHAPv2) }
        if serverOptions.contains("require-mschap") { methods.append(.msCHAPv1) }
        if serverOptions.contains("require-chap") { methods.append(.chapMD5) }
        if serverOptions.contains("require-pap") { methods.append(.pap) }
        return PPPPolicy(authentication: methods, encryption: Self.encryption(serverOptions))
    }

    /// The client's policy: pppd accepts whatever the server asks unless refused.
    var clientPolicy: PPPPolicy {
        PPPPolicy(authentication: [.msCHAPv2, .msCHAPv1, .chapMD5, .pap], encryption: Self.encryption(clientOptions))
    }

    static func encryption(_ options: [String]) -> EncryptionPolicy {
        let stateful = options.contains("mppe-stateful")
        if options.contains("require-mppe-128") {
            return EncryptionPolicy(strengths: [.bits128], allowStateful: stateful)
        }
        if options.contains("require-mppe-40") {
            return EncryptionPolicy(strengths: [.bits40], allowStateful: stateful)
        }
        return .none
    }

    /// The PPP control packets of the capture, in order, with their direction.
    func controlPackets() throws -> [(fromClient: Bool, protocolNumber: PPPProtocolNumber, packet: ControlPacket)] {
        let result = try CaptureReader.readAll(path: pcap)
        var out: [(Bool, PPPProtocolNumber, ControlPacket)] = []
        for event in result.events {
            guard case .gre(let source, _, let payload, _, _) = event,
                let gre = try? GREPacket(parsing: ByteBuffer(bytes: payload)), !gre.header.isAcknowledgmentOnly,
                let frame = try? PPPFrame(parsing: gre.payload), frame.protocolNumber != .compressedDatagram,
                let packet = try? ControlPacket(parsing: frame.information)
            else { continue }
            out.append((source.description == "192.0.2.2", frame.protocolNumber, packet))
        }
        return out
    }
}

/// Our engine in the place of one of the real peers of a capture: the other peer's packets are
/// fed to it, and each of its answers must be what the real peer answered (RFC 1661 codes and
/// options). Packets that only make sense for the real peer's own requests (its Acks, Naks,
/// the CHAP exchange with its random values) are re-targeted at our requests; the real values
/// are checked separately (CHAP responses verified, S= reproduced).
struct Replay {
    var engine: PPPSession
    var now = NIODeadline.uptimeNanoseconds(1_000_000_000)
    var outstanding: [PPPProtocolNumber: ControlPacket] = [:]
    var sentAuth: [ControlPacket] = []
    var events: [PPPSessionEvent] = []
    var answers: [(PPPProtocolNumber, ControlPacket)] = []
    var verifier: (AuthenticationRequest) -> AuthenticationVerdict

    init(engine: PPPSession, verifier: @escaping (AuthenticationRequest) -> AuthenticationVerdict) {
        self.engine = engine
        self.verifier = verifier
    }

    mutating func record(_ actions: [PPPSessionAction]) {
        for action in actions {
            switch action {
            case .send(let frame):
                guard let packet = try? ControlPacket(parsing: frame.information) else { continue }
                if packet.code == .configureRequest { outstanding[frame.protocolNumber] = packet }
                if frame.protocolNumber == .chap || frame.protocolNumber == .pap { sentAuth.append(packet) }
                answers.append((frame.protocolNumber, packet))
            case .verify(let request):
                record(engine.receive(verdict: verifier(request), now: now))
            case .event(let event):
                events.append(event)
            }
        }
    }

    mutating func start() { record(engine.start(now: now)) }

    /// Feeds a packet, returns what the engine sent in answer.
    mutating func feed(
        _ protocolNumber: PPPProtocolNumber,
        _ packet: ControlPacket
    ) -> [(PPPProtocolNumber, ControlPacket)] {
        answers = []
        record(engine.receive(protocolNumber, information: packet.bytes, now: now))
        return answers
    }

    /// Acknowledges whatever our engine last requested for `protocolNumber`.
    mutating func ackOurRequest(_ protocolNumber: PPPProtocolNumber) {
        guard let request = outstanding.removeValue(forKey: protocolNumber) else { return }
        _ = feed(protocolNumber, ControlPacket(code: .configureAck, identifier: request.identifier, data: request.data))
    }

    mutating func tick(_ seconds: Int64) {
        now = now + .seconds(seconds)
        record(engine.timeout(now: now))
    }
}

/// Whether our answer is the real one: same code, and for configuration replies the same
/// options (as pppd would log them).
func sameAnswer(_ ours: (PPPProtocolNumber, ControlPacket), _ real: (PPPProtocolNumber, ControlPacket)) -> Bool {
    guard ours.0 == real.0, ours.1.code == real.1.code,
        ours.1.identifier == real.1.identifier || ours.1.code == .protocolReject
    else { return false }
    switch ours.1.code {
    case .configureAck, .configureNak, .configureReject:
        return ours.1.data == real.1.data
    case .protocolReject:
        return ours.1.data.prefix(2) == real.1.data.prefix(2)
    default:
        return true
    }
}

func isAnswer(_ code: ControlCode) -> Bool {
    [.configureAck, .configureNak, .configureReject, .terminateAck, .echoReply, .protocolReject].contains(code)
}

@Suite struct PPPReplayTests {
    static let sessions = GoldenSession.all

    @Test func manifestIsRead() {
        #expect(Self.sessions.count == 11)
    }

    /// Our server engine in the place of pptpd + pppd.
    @Test(arguments: sessions)
    func ourServerAnswersTheRealClientAsPptpdDid(_ session: GoldenSession) throws {
        let packets = try session.controlPackets()
        try #require(!packets.isEmpty)
        let password = session.password
        let configuration = PPPSessionConfiguration(
            role: .server,
            policy: session.serverPolicy,
            name: "pptpd",
            ipcp: .assigning(
                local: IPv4Address(203, 0, 113, 1),
                peer: session.clientAddress ?? IPv4Address(203, 0, 113, 99),
                dns: [],
                nbns: []
            ),
            ipv6: false,
            echoInterval: nil,
            requestACCM: 0
        )
        var replay = Replay(engine: PPPSession(configuration: configuration, random: SystemRandomNumberGenerator())) {
            request in
            CredentialVerifier.verify(request, secret: .password(password)).verdict
        }
        replay.start()
        var compared = 0
        var capturedChallenge: [UInt8]?
        for (index, item) in packets.enumerated() where item.fromClient {
            let (protocolNumber, packet) = (item.protocolNumber, item.packet)
            let real = packets[(index + 1)...].first {
                guard !$0.fromClient, isAnswer($0.packet.code) else { return false }
                // pptpd (noipv6) answers IPV6CP with an LCP Protocol-Reject.
                if protocolNumber == .ipv6cp { return $0.packet.code == .protocolReject }
                return $0.protocolNumber == protocolNumber && $0.packet.identifier == packet.identifier
            }
            switch (protocolNumber, packet.code) {
            case (.chap, _), (.pap, _):
                try replayAuthentication(
                    protocolNumber,
                    packet,
                    packets: packets,
                    index: index,
                    session: session,
                    replay: &replay,
                    challenge: &capturedChallenge
                )
            case (_, .configureRequest), (.lcp, .terminateRequest), (.ipv6cp, _):
                let ours = replay.feed(protocolNumber, packet)
                guard let real else { continue }
                let answer = ours.first { isAnswer($0.1.code) }
                #expect(
                    answer.map { sameAnswer($0, (real.protocolNumber, real.packet)) } == true,
                    "\(session): answer to \(protocolNumber) \(packet.code) id \(packet.identifier): ours \(String(describing: answer)), pptpd \(real.packet)"
                )
                compared += 1
            case (_, .configureAck):
                replay.ackOurRequest(protocolNumber)
            default:
                break
            }
        }
        #expect(
            compared >= (session.clientPassword == session.password ? 3 : 1),
            "\(session): too few answers compared"
        )
        // The negotiated state is what the server's pppd log reports.
        let agreed = replay.engine.lcp.negotiator.agreed
        #expect(agreed.sendPFC && agreed.sendACFC)
        if session.name.hasPrefix("08") {
            #expect(replay.engine.downReason != nil || !replay.engine.isNetworkUp)
        } else {
            #expect(replay.engine.network?.peerAddress == session.clientAddress, "\(session)")
            let encryption = session.serverPolicy.encryption
            if encryption.allowsEncryption {
                let strength: MPPEKeyStrength = encryption.strengths.contains(.bits40) ? .bits40 : .bits128
                #expect(
                    replay.engine.ccp.negotiator.sending == MPPEDirection(strength: strength, mode: .stateless),
                    "\(session)"
                )
            }
        }
    }

    /// The CHAP/PAP exchange: the captured response is verified against the captured challenge
    /// (our verifier must accept it and reproduce pptpd's S=), then our engine gets a response
    /// to its own challenge computed the same way.
    private func replayAuthentication(
        _ protocolNumber: PPPProtocolNumber,
        _ packet: ControlPacket,
        packets: [(fromClient: Bool, protocolNumber: PPPProtocolNumber, packet: ControlPacket)],
        index: Int,
        session: GoldenSession,
        replay: inout Replay,
        challenge: inout [UInt8]?
    ) throws {
        if protocolNumber == .pap {
            _ = replay.feed(.pap, packet)
            return
        }
        guard case .response(let value, let name) = try CHAPMessage(packet) else { return }
        // The real challenge is the server's last CHAP Challenge before this response.
        guard
            let realChallenge = packets[..<index].last(where: {
                !$0.fromClient && $0.protocolNumber == .chap && $0.packet.code.rawValue == 1
            }),
            case .challenge(let challengeValue, _) = try CHAPMessage(realChallenge.packet)
        else { return }
        let user = String(decoding: name, as: UTF8.self)
        let proof: AuthenticationRequest.Proof
        let method = replay.engine.lcp.negotiator.agreed.peerMustAuthenticate
        switch method {
        case .msCHAPv2?:
            let response = try MSCHAPv2Response(value)
            proof = .msCHAPv2(
                authenticatorChallenge: challengeValue,
                peerChallenge: response.peerChallenge,
                ntResponse: response.ntResponse
            )
        case .msCHAPv1?:
            let response = try MSCHAPv1Response(value)
            proof = .msCHAPv1(challenge: challengeValue, ntResponse: response.ntResponse)
        case .chapMD5?:
            proof = .chapMD5(identifier: realChallenge.packet.identifier, challenge: challengeValue, response: value)
        default:
            return
        }
        let verdict = CredentialVerifier.verify(
            AuthenticationRequest(userName: user, proof: proof),
            secret: .password(session.password)
        ).verdict
        let realAnswer = packets[(index + 1)...].first { !$0.fromClient && $0.protocolNumber == .chap }
        if session.clientPassword == session.password {
            guard case .accept(let s, _, _) = verdict else {
                Issue.record("\(session): our verifier refused the real client's response")
                return
            }
            if method == .msCHAPv2, let realAnswer, case .success(let text) = try CHAPMessage(realAnswer.packet) {
                #expect(try MSCHAPv2Success(text).authenticatorResponse == s, "\(session): S= differs from pptpd's")
            }
        } else {
            guard case .reject = verdict else {
                Issue.record("\(session): our verifier accepted a wrong password")
                return
            }
        }
        // Now answer our own engine's challenge the way the real client would.
        guard let ours = replay.sentAuth.last(where: { $0.code.rawValue == 1 }),
            case .challenge(let ourChallenge, _) = try CHAPMessage(ours)
        else { return }
        let hash = NTPasswordHash(password: session.clientPassword)
        let responseValue: [UInt8]
        switch method {
        case .msCHAPv2?:
            let peerChallenge = try MSCHAPv2Response(value).peerChallenge
            let nt = try MSCHAPv2.generateNTResponse(
                authenticatorChallenge: ourChallenge,
                peerChallenge: peerChallenge,
                userName: name,
                passwordHash: hash
            )
            responseValue = MSCHAPv2Response(peerChallenge: peerChallenge, ntResponse: nt).bytes
        case .msCHAPv1?:
            responseValue =
                MSCHAPv1Response(
                    ntResponse: try MSCHAPv1.ntChallengeResponse(challenge: ourChallenge, passwordHash: hash)
                ).bytes
        default:
            responseValue = CHAPMD5.response(
                identifier: ours.identifier,
                secret: Array(session.clientPassword.utf8),
                challenge: ourChallenge
            )
        }
        let answers = replay.feed(
            .chap,
            CHAPMessage.response(value: responseValue, name: name).packet(identifier: ours.identifier)
        )
        // Success or Failure, as pptpd answered.
        if let realAnswer, let ourAnswer = answers.first(where: { $0.0 == .chap }) {
            #expect(ourAnswer.1.code == realAnswer.packet.code, "\(session): CHAP outcome differs")
        }
    }

    /// Our client engine in the place of pptp-linux + pppd.
    @Test(arguments: sessions)
    func ourClientAnswersTheRealServerAsPppdDid(_ session: GoldenSession) throws {
        let packets = try session.controlPackets()
        let configuration = PPPSessionConfiguration(
            role: .client,
            policy: session.clientPolicy,
            credentials: ClientCredentials(userName: session.user, password: session.clientPassword),
            ipcp: .requesting(preferred: .unspecified, requestDNS: false),
            ipv6: true,
            echoInterval: nil,
            requestACCM: 0
        )
        var replay = Replay(engine: PPPSession(configuration: configuration, random: SystemRandomNumberGenerator())) {
            _ in .reject(.authenticationFailure)
        }
        replay.start()
        var compared = 0
        for (index, item) in packets.enumerated() where !item.fromClient {
            let (protocolNumber, packet) = (item.protocolNumber, item.packet)
            let real = packets[(index + 1)...].first {
                $0.fromClient && isAnswer($0.packet.code) && $0.protocolNumber == protocolNumber
                    && $0.packet.identifier == packet.identifier
            }
            switch (protocolNumber, packet.code) {
            case (.chap, ControlCode(1)):
                _ = replay.feed(.chap, packet)  // our response has its own peer challenge
            case (.chap, ControlCode(3)):
                // pptpd's S= is for the real client's response; give ours the S= for its own.
                guard let ourResponse = replay.sentAuth.last(where: { $0.code.rawValue == 2 }),
                    case .response(let value, _) = try CHAPMessage(ourResponse),
                    let challengePacket = packets[..<index].last(where: {
                        !$0.fromClient && $0.protocolNumber == .chap && $0.packet.code.rawValue == 1
                    }),
                    case .challenge(let challenge, _) = try CHAPMessage(challengePacket.packet)
                else { continue }
                var message = packet.data
                if let response = try? MSCHAPv2Response(value) {
                    let proof = AuthenticationRequest.Proof.msCHAPv2(
                        authenticatorChallenge: challenge,
                        peerChallenge: response.peerChallenge,
                        ntResponse: response.ntResponse
                    )
                    if case .accept(let s?, _, _) = CredentialVerifier.verify(
                        AuthenticationRequest(userName: session.user, proof: proof),
                        secret: .password(session.password)
                    ).verdict {
                        message = MSCHAPv2Success(authenticatorResponse: s, message: "Access granted").bytes
                    }
                }
                _ = replay.feed(
                    .chap,
                    ControlPacket(code: packet.code, identifier: ourResponse.identifier, data: message)
                )
            case (.chap, ControlCode(4)):
                let ourResponse = replay.sentAuth.last(where: { $0.code.rawValue == 2 })
                _ = replay.feed(
                    .chap,
                    ControlPacket(
                        code: packet.code,
                        identifier: ourResponse?.identifier ?? packet.identifier,
                        data: packet.data
                    )
                )
            case (_, .configureRequest), (.lcp, .terminateRequest), (.lcp, .echoRequest):
                let ours = replay.feed(protocolNumber, packet)
                guard let real else { continue }
                let answer = ours.first { isAnswer($0.1.code) }
                #expect(
                    answer.map { sameAnswer($0, (real.protocolNumber, real.packet)) } == true,
                    "\(session): answer to \(protocolNumber) \(packet.code): ours \(String(describing: answer)), pppd \(real.packet)"
                )
                compared += 1
            case (_, .configureAck):
                replay.ackOurRequest(protocolNumber)
            case (.ipcp, .configureNak):
                // The server names our address: re-target its Nak at our request.
                guard let request = replay.outstanding[.ipcp] else { continue }
                _ = replay.feed(
                    .ipcp,
                    ControlPacket(code: .configureNak, identifier: request.identifier, data: packet.data)
                )
            case (.lcp, .protocolReject):
                _ = replay.feed(.lcp, packet)
            default:
                break
            }
        }
        #expect(compared >= 2, "\(session): too few answers compared")
        // Let the Terminate exchange run out.
        for _ in 0..<10 where replay.engine.downReason == nil { replay.tick(3) }
        if session.clientPassword != session.password {
            // Capture 08: the real server's Failure E=691 ends our client with the typed error.
            #expect(
                replay.engine.downReason
                    == .authenticationFailed(.rejected(.authenticationFailure, message: "Access denied"))
            )
        } else {
            #expect(replay.engine.network?.localAddress == session.clientAddress, "\(session)")
            #expect(replay.events.contains(.protocolRejected(.ipv6cp)), "\(session): pptpd's Protocol-Reject of IPV6CP")
        }
    }
}
