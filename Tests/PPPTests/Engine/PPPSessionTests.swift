import MSCrypto
import NIOCore
import Testing

@testable import PPP

/// The policy matrix of the issue: every authentication method × every MPPE mode.
enum EncryptionCase: String, CaseIterable, CustomStringConvertible {
    case none, bits40, bits56, bits128Stateless, bits128Stateful

    var policy: EncryptionPolicy {
        switch self {
        case .none: return .none
        case .bits40: return EncryptionPolicy(strengths: [.bits40])
        case .bits56: return EncryptionPolicy(strengths: [.bits56])
        case .bits128Stateless: return EncryptionPolicy(strengths: [.bits128])
        case .bits128Stateful: return EncryptionPolicy(strengths: [.bits128], allowStateful: true, preferStateful: true)
        }
    }

    var expected: MPPEDirection? {
        switch self {
        case .none: return nil
        case .bits40: return MPPEDirection(strength: .bits40, mode: .stateless)
        case .bits56: return MPPEDirection(strength: .bits56, mode: .stateless)
        case .bits128Stateless: return MPPEDirection(strength: .bits128, mode: .stateless)
        case .bits128Stateful: return MPPEDirection(strength: .bits128, mode: .stateful)
        }
    }

    var description: String { rawValue }
}

@Suite struct PPPSessionTests {
    @Test(arguments: [AuthenticationMethod.pap, .chapMD5, .msCHAPv1, .msCHAPv2], EncryptionCase.allCases)
    func pairReachesNetworkPhaseWherePolicyAllowsIt(method: AuthenticationMethod, encryption: EncryptionCase) {
        let policy = PPPPolicy(authentication: [method], encryption: encryption.policy)
        var pair = SessionPair(serverPolicy: policy, clientPolicy: policy)
        pair.start()
        pair.runUntilUp()
        if encryption != .none && !method.providesMPPEKeys {
            // MPPE required, but the method gives no keys: both sides end, with that reason,
            // before any password is sent.
            pair.run()
            #expect(pair.clientDown == .encryptionNeedsMSCHAP(method))
            #expect(pair.serverDown == .encryptionNeedsMSCHAP(method))
            #expect(!pair.serverEvents.contains { if case .authenticated = $0 { return true } else { return false } })
            return
        }
        #expect(pair.client.isNetworkUp)
        #expect(pair.server.isNetworkUp)
        #expect(
            pair.client.network
                == IPv4NetworkSettings(
                    localAddress: SessionPair.clientAddress,
                    peerAddress: SessionPair.serverAddress,
                    dnsServers: [SessionPair.dns],
                    // RFC 1661 §6.1: the MRU (1500) is the Information field; MPPE takes 2 octets
                    // of header and the inner protocol field from it.
                    largestDatagram: encryption == .none ? 1500 : pair.client.dataPath.sendPFC ? 1497 : 1496
                )
        )
        #expect(pair.server.userName == "alice")
        #expect(pair.server.authenticationMethod == method)
        let clientEncryption = pair.clientEvents.compactMap { event -> MPPEDirection? in
            if case .encryptionUp(let send, _) = event { return send } else { return nil }
        }
        #expect(clientEncryption == (encryption.expected.map { [$0] } ?? []))
        // Data both ways, several packets, through the data paths.
        for i in 0..<300 {
            let payload = SessionPair.datagram(i, length: i % 100)
            #expect((try? pair.sendData(payload, fromClient: i % 2 == 0).get()) == payload)
        }
    }

    @Test func wrongPasswordEndsWithTypedErrorOnTheClient() {
        var pair = SessionPair(password: "Heidi-Right-Pass", clientPassword: "Heidi-Wrong-Pass")
        pair.start()
        pair.run()
        #expect(pair.clientDown == .authenticationFailed(.rejected(.authenticationFailure, message: "Access denied")))
        #expect(pair.serverDown == .authenticationFailed(.rejected(.authenticationFailure, message: "Access denied")))
        #expect(!pair.client.isNetworkUp)
    }

    @Test func unknownUserIsRejected() {
        var pair = SessionPair(user: "mallory")
        pair.secrets = [:]
        pair.start()
        pair.run()
        guard case .authenticationFailed(.rejected(.authenticationFailure, _)) = pair.clientDown else {
            Issue.record("client ended with \(String(describing: pair.clientDown))")
            return
        }
    }

    @Test func serverThatFailsMutualAuthenticationIsRefused() {
        // A server that does not know alice's password answers Success with a forged S=.
        var client = PPPSession(
            configuration: PPPSessionConfiguration(
                role: .client,
                credentials: ClientCredentials(userName: "alice", password: "Alice-Secret-1"),
                ipcp: .requesting(preferred: .unspecified, requestDNS: false)
            ),
            random: SplitMix64(seed: 5)
        )
        var server = PPPSession(
            configuration: PPPSessionConfiguration(
                role: .server,
                name: "evil",
                ipcp: .assigning(local: SessionPair.serverAddress, peer: SessionPair.clientAddress, dns: [], nbns: [])
            ),
            random: SplitMix64(seed: 6)
        )
        let now = NIODeadline.uptimeNanoseconds(1)
        var toServer = client.start(now: now)
        var toClient = server.start(now: now)
        var clientDown: PPPDownReason?
        for _ in 0..<50 {
            var nextToClient: [PPPSessionAction] = []
            var nextToServer: [PPPSessionAction] = []
            for case .send(let frame) in toServer { nextToClient += server.receive(frame, now: now) }
            for case .send(let frame) in toClient { nextToServer += client.receive(frame, now: now) }
            for action in nextToClient {
                if case .verify = action {
                    // A server that does not know the password forges an S= response.
                    nextToClient += server.receive(
                        verdict: .accept(authenticatorResponse: Array(repeating: 0x42, count: 20)),
                        now: now
                    )
                }
            }
            for case .event(.down(let reason)) in nextToServer { clientDown = reason }
            toServer = nextToServer
            toClient = nextToClient
        }
        #expect(clientDown == .authenticationFailed(.serverNotAuthenticated))
        #expect(!client.isNetworkUp)
    }

    @Test func silentPeerEndsByTimeoutWithTheRightReason() {
        var pair = SessionPair()
        pair.dropToServer = true
        pair.dropToClient = true
        pair.start()
        pair.run()
        // RFC 1661 §4.6: Max-Configure (10) requests 3 s apart, then TO-.
        #expect(pair.clientDown == .negotiationFailed(.peerNotResponding(.lcp)))
        #expect(pair.client.counters.framesSent == 10)
    }

    @Test func silentAuthenticatorEndsByHandshakeTimeout() {
        var pair = SessionPair()
        pair.start()
        // Let LCP open, then the server falls silent.
        pair.run(until: { $0.client.lcp.isOpened && $0.server.lcp.isOpened })
        pair.dropToClient = true
        pair.run()
        #expect(pair.clientDown == .handshakeTimeout(.authenticate))
    }

    @Test func echoFailureBringsTheSessionDown() {
        var pair = SessionPair(configureClient: {
            $0.echoInterval = .seconds(5)
            $0.echoFailures = 3
        })
        pair.start()
        pair.runUntilUp()
        #expect(pair.client.isNetworkUp)
        pair.dropToClient = true
        pair.dropToServer = true
        pair.run(until: { $0.clientDown != nil })
        #expect(pair.clientDown == .echoTimeout(unanswered: 3))
    }

    @Test func echoRepliesKeepTheSessionUp() {
        var pair = SessionPair(configureClient: {
            $0.echoInterval = .seconds(5)
            $0.echoFailures = 2
        })
        pair.start()
        pair.runUntilUp()
        let start = pair.now
        pair.run(until: { $0.now > start + .seconds(120) || $0.clientDown != nil })
        #expect(pair.clientDown == nil)
        #expect(pair.client.counters.echoRepliesReceived >= 20)
    }

    @Test func localCloseTerminatesBothSides() {
        var pair = SessionPair()
        pair.start()
        pair.runUntilUp()
        pair.apply(pair.client.close(.userRequest, now: pair.now), fromClient: true)
        pair.run()
        #expect(pair.clientDown == .localClose(.userRequest))
        #expect(pair.serverDown == .peerTerminated("User request"))
    }

    @Test func serverRequiringMSCHAPv2RefusesAPAPOnlyClient() {
        var pair = SessionPair(clientPolicy: PPPPolicy(authentication: [.pap], encryption: .none))
        pair.start()
        pair.run()
        #expect(pair.clientDown != nil)
        #expect(pair.serverDown != nil)
        #expect(!pair.serverEvents.contains { if case .authenticated = $0 { return true } else { return false } })
    }

    @Test func clientRequiringMPPEEndsWhenServerOffersNone() {
        var pair = SessionPair(serverPolicy: PPPPolicy(authentication: [.msCHAPv2], encryption: .none))
        pair.start()
        pair.run()
        #expect(
            pair.clientDown == .negotiationFailed(.encryptionRefused)
                || pair.clientDown == .peerTerminated("MPPE is required but the peer refused it")
        )
        #expect(!pair.client.isNetworkUp || pair.clientDown != nil)
    }

    @Test func strongestCommonStrengthIsChosen() {
        let server = PPPPolicy(encryption: EncryptionPolicy(strengths: [.bits40, .bits128]))
        let client = PPPPolicy(encryption: EncryptionPolicy(strengths: [.bits40, .bits56, .bits128]))
        var pair = SessionPair(serverPolicy: server, clientPolicy: client)
        pair.start()
        pair.runUntilUp()
        #expect(pair.client.ccp.negotiator.sending == MPPEDirection(strength: .bits128, mode: .stateless))
        #expect(pair.server.ccp.negotiator.sending == MPPEDirection(strength: .bits128, mode: .stateless))
    }

    @Test func statefulMPPEResynchronisesAfterLoss() {
        let policy = PPPPolicy(
            encryption: EncryptionPolicy(strengths: [.bits128], allowStateful: true, preferStateful: true)
        )
        var pair = SessionPair(serverPolicy: policy, clientPolicy: policy)
        pair.start()
        pair.runUntilUp()
        #expect(pair.client.ccp.negotiator.receiving?.mode == .stateful)
        // Lose one packet client → server: encrypt it and throw it away.
        var lost = [UInt8](repeating: 0, count: 8) + SessionPair.datagram(1)
        _ = lost.withUnsafeMutableBytes { pair.client.dataPath.encapsulate(.ipv4, in: $0, payload: 8..<$0.count) }
        // The next packet shows the gap: the server asks for a reset.
        #expect(throws: PPPDropReason.self) { try pair.sendData(SessionPair.datagram(9), fromClient: true).get() }
        pair.apply(pair.server.requestEncryptionReset(now: pair.now), fromClient: false)
        pair.run(until: { $0.toServer.isEmpty && $0.toClient.isEmpty })
        // After the Reset-Ack the client's next packet is FLUSHED and decrypts.
        let after = SessionPair.datagram(7)
        #expect((try? pair.sendData(after, fromClient: true).get()) == after)
    }

    @Test func unknownProtocolIsProtocolRejected() {
        var pair = SessionPair()
        pair.start()
        pair.runUntilUp()
        let actions = pair.server.receive(PPPProtocolNumber(0x8281), information: [1, 1, 0, 4], now: pair.now)
        guard case .send(let frame) = actions.first, let packet = try? ControlPacket(parsing: frame.information),
            let message = try? LCPMessage(packet)
        else {
            Issue.record("no Protocol-Reject")
            return
        }
        #expect(message == .protocolReject(PPPProtocolNumber(0x8281), information: [1, 1, 0, 4]))
    }

    @Test func peerThatProtocolRejectsOurMPPEFramesEndsTheSession() {
        // accel-ppp in the lab, now and then: CCP agreed on MPPE-128, yet every encrypted frame we
        // send comes back as LCP Protocol-Reject of 0x00FD, for good. The tunnel is dark: end it
        // with a reason that says so (the client reconnects on it), not a silent ping loss.
        var pair = SessionPair()
        pair.start()
        pair.runUntilUp()
        #expect(pair.client.dataPath.encryptionActive)
        // What accel-ppp sends back: our frame from the MPPE header on (A and D bits, count 3).
        let information: [UInt8] = [0x90, 0x03, 0x5e, 0x11, 0x42, 0x07]
        let reject = LCPMessage.protocolReject(.compressedDatagram, information: information).packet(identifier: 9)
        pair.apply(pair.client.receive(.lcp, information: reject.bytes, now: pair.now), fromClient: true)
        pair.run()
        #expect(pair.clientEvents.contains(.protocolRejected(.compressedDatagram)))
        #expect(pair.clientDown == .negotiationFailed(.encryptedFramesRejected))
        #expect(pair.client.counters.encryptedFramesRejected == 1)
        #expect(pair.serverDown != nil, "the server saw our Terminate-Request")
    }

    @Test func protocolRejectOfMPPEFramesWithoutMPPEChangesNothing() {
        let policy = PPPPolicy(authentication: [.msCHAPv2], encryption: .none)
        var pair = SessionPair(serverPolicy: policy, clientPolicy: policy)
        pair.start()
        pair.runUntilUp()
        let reject = LCPMessage.protocolReject(.compressedDatagram, information: [0x90, 0]).packet(identifier: 9)
        pair.apply(pair.client.receive(.lcp, information: reject.bytes, now: pair.now), fromClient: true)
        pair.run()
        #expect(pair.client.isNetworkUp)
        #expect(pair.clientDown == nil)
    }

    @Test func ipv6cpIsProtocolRejectedWhenDisabledAndTheClientCarriesOn() {
        var pair = SessionPair(configureClient: { $0.ipv6 = true })
        pair.start()
        pair.runUntilUp()
        #expect(pair.client.isNetworkUp)
        #expect(pair.clientEvents.contains(.protocolRejected(.ipv6cp)))
    }

    @Test func ipv6cpOpensWhenBothSidesWantIt() {
        var pair = SessionPair(configureClient: { $0.ipv6 = true }, configureServer: { $0.ipv6 = true })
        pair.start()
        pair.run(until: { $0.client.dataPath.ipv6Open && $0.server.dataPath.ipv6Open })
        #expect(pair.client.dataPath.ipv6Open)
        #expect(pair.clientEvents.contains { if case .ipv6Up = $0 { return true } else { return false } })
    }

    @Test func unencryptedDataAfterMPPEIsDroppedAndCounted() {
        var pair = SessionPair()
        pair.start()
        pair.runUntilUp()
        var frame: [UInt8] = [0x21, 0x45, 0, 0, 20]
        let result = frame.withUnsafeMutableBytes { pair.server.dataPath.decapsulate($0, frame: 0..<$0.count) }
        #expect(result == .dropped(.unencryptedAfterMPPE, resetRequested: false))
        #expect(pair.server.dataPath.counters.droppedUnencrypted == 1)
    }

    @Test func passwordChangeOnExpiredPassword() {
        // The server's first verdict is E=648; the client changes its password (RFC 2759 §7).
        var client = PPPSession(
            configuration: PPPSessionConfiguration(
                role: .client,
                credentials: ClientCredentials(userName: "alice", password: "old-pass", newPassword: "new-pass"),
                ipcp: .requesting(preferred: .unspecified, requestDNS: false)
            ),
            random: SplitMix64(seed: 7)
        )
        var server = PPPSession(
            configuration: PPPSessionConfiguration(
                role: .server,
                ipcp: .assigning(local: SessionPair.serverAddress, peer: SessionPair.clientAddress, dns: [], nbns: []),
                maxAuthenticationAttempts: 2
            ),
            random: SplitMix64(seed: 8)
        )
        let now = NIODeadline.uptimeNanoseconds(1)
        var toServer = client.start(now: now)
        var toClient = server.start(now: now)
        var verdicts = 0
        var changedTo: String?
        for _ in 0..<60 {
            var nextToClient: [PPPSessionAction] = []
            var nextToServer: [PPPSessionAction] = []
            for case .send(let frame) in toServer { nextToClient += server.receive(frame, now: now) }
            for case .send(let frame) in toClient { nextToServer += client.receive(frame, now: now) }
            var index = 0
            while index < nextToClient.count {
                if case .verify(let request) = nextToClient[index] {
                    verdicts += 1
                    if verdicts == 1 {
                        nextToClient += server.receive(
                            verdict: AuthenticationVerdict.reject(.passwordExpired, message: "expired"),
                            now: now
                        )
                    } else {
                        let outcome = CredentialVerifier.verify(request, secret: .password("old-pass"))
                        changedTo = outcome.newPassword
                        nextToClient += server.receive(verdict: outcome.verdict, now: now)
                    }
                }
                index += 1
            }
            toServer = nextToServer
            toClient = nextToClient
        }
        #expect(changedTo == "new-pass")
        #expect(client.isNetworkUp)
        #expect(server.isNetworkUp)
    }

    @Test(arguments: [true, false])
    func earlyIPCPRequestIsHeldUntilIPCPOpens(onClient: Bool) {
        // accel-ppp sends its IPCP Configure-Request right after CHAP Success, Windows before CCP
        // opens: IPCP is Up but not Open then (Closed), where RFC 1661 §4.1 would answer sta and
        // the peer would resend only after its 3 s restart timer. The request waits instead.
        var pair = SessionPair()
        pair.start()
        pair.run(until: { onClient ? $0.client.phase == .network : $0.server.phase == .network })
        let early = IPCPMessage.configureRequest([.ipAddress(IPv4Address(198, 51, 100, 77))]).packet(identifier: 0x77)
        let answer =
            onClient
            ? pair.client.receive(.ipcp, information: early.bytes, now: pair.now)
            : pair.server.receive(.ipcp, information: early.bytes, now: pair.now)
        #expect(answer.isEmpty)
        #expect((onClient ? pair.client : pair.server).counters.heldEarlyRequests == 1)
        // Run until IPCP is opened; the held request is answered in the same step as our own
        // Configure-Request, with no timer in between.
        let heldAt = pair.now
        var answers: [ControlPacket] = []
        pair.run(until: { pair in
            let queue = onClient ? pair.toServer : pair.toClient
            return queue.contains { Self.ipcpPacket($0)?.identifier == 0x77 }
        })
        for bytes in onClient ? pair.toServer : pair.toClient {
            if let packet = Self.ipcpPacket(bytes) { answers.append(packet) }
        }
        #expect(pair.now == heldAt)
        #expect(answers.map(\.code).contains(.configureRequest))
        #expect(answers.contains { $0.identifier == 0x77 && $0.code != .terminateAck })
        pair.runUntilUp()
        #expect(pair.client.isNetworkUp)
        #expect(pair.server.isNetworkUp)
    }

    @Test func datagramsUpToThePeersMRULessMPPEsOctetsPass() {
        // accel-ppp asks for MRU 1400 and refuses PFC: 1396-octet packets fit (RFC 1661 §6.1
        // counts the Information field only), 1397 do not.
        var pair = SessionPair(configureServer: { $0.mru = 1400 })
        pair.start()
        pair.runUntilUp()
        #expect(pair.client.dataPath.largestDatagram == (pair.client.dataPath.sendPFC ? 1397 : 1396))
        let largest = pair.client.dataPath.largestDatagram
        let fits = SessionPair.datagram(1, length: largest - 20)
        #expect((try? pair.sendData(fits, fromClient: true).get()) == fits)
        let tooLarge = SessionPair.datagram(2, length: largest - 19)
        #expect(throws: PPPDropReason.tooLarge(largest + 1)) { try pair.sendData(tooLarge, fromClient: true).get() }
        #expect(pair.client.network?.largestDatagram == largest)
    }

    @Test(arguments: ["", "MPPE required but not available", "Administrative shutdown"])
    func serverThatEndsTheLinkBeforeMPPEComesUpRefusedEncryption(text: String) {
        // accel-ppp, offered MPPE-40 only, answers with an empty Terminate-Request once CCP fails
        // on its side; whether our own CCP noticed first is a race. Either way: encryption was not
        // agreed, unless the server gave another reason.
        var pair = SessionPair()
        pair.start()
        pair.run(until: { $0.client.phase == .network })
        pair.toClient.removeAll()
        pair.dropToServer = true
        let terminate = LCPMessage.terminateRequest(Array(text.utf8)).packet(identifier: 0x44)
        pair.apply(pair.client.receive(.lcp, information: terminate.bytes, now: pair.now), fromClient: true)
        pair.run()
        if text == "Administrative shutdown" {
            #expect(pair.clientDown == .peerTerminated(text))
        } else {
            #expect(pair.clientDown == .negotiationFailed(.encryptionRefused))
        }
    }

    @Test func accelPPPNetworkPhaseOrderNeedsNoRestart() {
        // accel-ppp 1.14's order after MS-CHAPv2 Success, from its log in the lab (serve-accel):
        //   send [CCP ConfReq id=ea <mppe +H -M +S -L -D -C>]
        //   send [IPCP ConfReq id=ba <addr 203.0.113.1>]
        //   recv [CCP ConfReq id=1 <mppe +H -M +S -L -D -C>]   send [CCP ConfAck id=1]
        //   recv [CCP ConfAck id=ea]
        //   recv [IPCP ConfReq id=1 <addr 0.0.0.0> <dns1 0.0.0.0> <dns2 0.0.0.0>]  send [IPCP ConfRej id=1 <dns1> <dns2>]
        //   recv [IPCP ConfAck id=ba]
        //   recv [IPCP ConfReq id=2 <addr 0.0.0.0>]  send [IPCP ConfNak id=2 <addr 203.0.113.100>]
        //   recv [IPCP ConfReq id=3 <addr 203.0.113.100>]  send [IPCP ConfAck id=3]
        // Our server plays LCP and MS-CHAPv2; from Success on, the script plays accel-ppp.
        var pair = SessionPair()
        pair.start()
        pair.run(until: { $0.client.phase == .network })
        pair.toClient.removeAll()
        let gateway = IPv4Address(203, 0, 113, 1)
        let assigned = IPv4Address(203, 0, 113, 100)
        var fromClient: [(PPPProtocolNumber, ControlPacket)] = []
        func collect(_ pair: inout SessionPair) {
            for bytes in pair.toServer {
                if let frame = try? PPPFrame(parsing: ByteBuffer(bytes: bytes)),
                    let packet = try? ControlPacket(parsing: frame.information)
                {
                    fromClient.append((frame.protocolNumber, packet))
                }
            }
            pair.toServer.removeAll()
        }
        func send(_ pair: inout SessionPair, _ protocolNumber: PPPProtocolNumber, _ packet: ControlPacket) {
            pair.apply(pair.client.receive(protocolNumber, information: packet.bytes, now: pair.now), fromClient: true)
            collect(&pair)
        }
        collect(&pair)
        let started = pair.now
        let mppe = CCPOption.mppe([.stateless, .bits128])
        send(&pair, .ccp, CCPMessage.configureRequest([mppe]).packet(identifier: 0xEA))
        send(&pair, .ipcp, IPCPMessage.configureRequest([.ipAddress(gateway)]).packet(identifier: 0xBA))
        // The client asked for CCP on entering the Network phase; it acknowledges accel-ppp's and
        // keeps the IPCP request.
        guard let ccpRequest = fromClient.first(where: { $0.0 == .ccp && $0.1.code == .configureRequest })?.1 else {
            Issue.record("no CCP Configure-Request from the client: \(fromClient)")
            return
        }
        #expect(fromClient.contains { $0.0 == .ccp && $0.1.code == .configureAck && $0.1.identifier == 0xEA })
        #expect(!fromClient.contains { $0.0 == .ipcp })
        send(&pair, .ccp, ControlPacket(code: .configureAck, identifier: ccpRequest.identifier, data: ccpRequest.data))
        #expect(pair.client.dataPath.encryptor != nil)
        // CCP is open: IPCP starts with the client's request and the held one is acknowledged.
        let ipcp = fromClient.filter { $0.0 == .ipcp }
        #expect(ipcp.map(\.1.code) == [.configureRequest, .configureAck])
        #expect(ipcp.last?.1.identifier == 0xBA)
        guard let firstRequest = ipcp.first?.1, let firstOptions = try? IPCPMessage(firstRequest),
            case .configureRequest(let requested) = firstOptions
        else {
            Issue.record("no IPCP request")
            return
        }
        let dns =
            requested.filter { if case .primaryDNS = $0 { return true } else { return false } }
            + requested.filter { if case .secondaryDNS = $0 { return true } else { return false } }
        send(&pair, .ipcp, IPCPMessage.configureReject(dns).packet(identifier: firstRequest.identifier))
        send(&pair, .ipcp, IPCPMessage.configureAck([.ipAddress(gateway)]).packet(identifier: 0xBA))
        guard let second = fromClient.last(where: { $0.0 == .ipcp && $0.1.code == .configureRequest })?.1 else {
            Issue.record("no second IPCP request")
            return
        }
        send(&pair, .ipcp, IPCPMessage.configureNak([.ipAddress(assigned)]).packet(identifier: second.identifier))
        guard let third = fromClient.last(where: { $0.0 == .ipcp && $0.1.code == .configureRequest })?.1,
            let thirdOptions = try? IPCPMessage(third)
        else {
            Issue.record("no third IPCP request")
            return
        }
        #expect(thirdOptions == .configureRequest([.ipAddress(assigned)]))
        send(&pair, .ipcp, ControlPacket(code: .configureAck, identifier: third.identifier, data: third.data))
        #expect(pair.client.isNetworkUp)
        #expect(pair.client.network?.localAddress == assigned)
        #expect(pair.client.network?.peerAddress == gateway)
        #expect(!fromClient.contains { $0.1.code == .terminateAck || $0.1.code == .terminateRequest })
        #expect(pair.now == started, "no restart timer was needed")
    }

    /// The IPCP packet in a serialized frame, if it is one.
    static func ipcpPacket(_ bytes: [UInt8]) -> ControlPacket? {
        guard let frame = try? PPPFrame(parsing: ByteBuffer(bytes: bytes)), frame.protocolNumber == .ipcp else {
            return nil
        }
        return try? ControlPacket(parsing: frame.information)
    }

    @Test func windowsLCPOptionsConvergeInOneRound() {
        // A Windows client's LCP request: callback, MRRU and endpoint discriminator.
        var server = PPPSession(
            configuration: PPPSessionConfiguration(
                role: .server,
                ipcp: .assigning(local: SessionPair.serverAddress, peer: SessionPair.clientAddress, dns: [], nbns: [])
            ),
            random: SplitMix64(seed: 3)
        )
        let now = NIODeadline.uptimeNanoseconds(1)
        _ = server.start(now: now)
        let request = LCPMessage.configureRequest([
            .magicNumber(0x1234), .protocolFieldCompression, .addressAndControlFieldCompression,
            .callback(operation: 6, message: []),
            .multilinkMRRU(1614), .endpointDiscriminator(class: 1, address: Array(repeating: 7, count: 20)),
        ]).packet(identifier: 1)
        let actions = server.receive(.lcp, information: request.bytes, now: now)
        guard case .send(let frame) = actions.first, let packet = try? ControlPacket(parsing: frame.information),
            let message = try? LCPMessage(packet)
        else {
            Issue.record("no answer")
            return
        }
        #expect(message == .configureReject([.callback(operation: 6, message: []), .multilinkMRRU(1614)]))
    }
}
