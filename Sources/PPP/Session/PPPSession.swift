import MSCrypto
import NIOCore

/// One PPP session: LCP, authentication in the direction(s) LCP agreed, CCP/MPPE, IPCP and
/// IPV6CP, composed through the phases of RFC 1661 §3.2 as a sans-I/O engine.
///
/// Feed it control frames (`receive`), the current time (`timeout` once `nextDeadline` has
/// passed) and verdicts; it returns frames to send and events. The data path (`dataPath`) is
/// configured by the session as the NCPs open and used directly by the tunnel for every packet.
public struct PPPSession: Sendable {
    public let configuration: PPPSessionConfiguration
    public internal(set) var phase: PPPPhase = .dead
    public var dataPath = PPPDataPath()
    public internal(set) var counters = PPPControlCounters()
    /// Why the session ended, once it has.
    public internal(set) var downReason: PPPDownReason?

    public internal(set) var lcp: NegotiationAutomaton<LCPNegotiator>
    public internal(set) var ccp: NegotiationAutomaton<CCPNegotiator>
    public internal(set) var ipcp: NegotiationAutomaton<IPCPNegotiator>
    public internal(set) var ipv6cp: NegotiationAutomaton<IPV6CPNegotiator>?
    public internal(set) var authenticator: Authenticator?
    public internal(set) var authenticatingPeer: AuthenticatingPeer?

    /// The user the peer authenticated as (server), or we authenticated as (client).
    public internal(set) var userName: String?
    public internal(set) var authenticationMethod: AuthenticationMethod?
    public internal(set) var network: IPv4NetworkSettings?
    var keys: MPPEKeyMaterial?
    var random: any RandomNumberGenerator & Sendable

    var pendingDownReason: PPPDownReason?
    var handshakeDeadline: NIODeadline?
    var ncpsOpened = false
    /// MPPE was up at some point (CCP opened with keys).
    var encryptionCameUp = false
    /// IPCP and IPV6CP Configure-Requests that arrived before their NCP was opened, replayed when it opens
    /// (see `holdEarlyRequest`).
    var earlyRequests = EarlyNCPRequests()
    var authenticationPending: (peer: Bool, local: Bool) = (false, false)

    /// LCP echo keepalive (RFC 1661 §5.8).
    var keepalive: LCPKeepalive

    public init(
        configuration: PPPSessionConfiguration,
        random: any RandomNumberGenerator & Sendable = SystemRandomNumberGenerator()
    ) {
        self.configuration = configuration
        self.random = random
        self.keepalive = LCPKeepalive(interval: configuration.echoInterval, failures: configuration.echoFailures)
        var lcpConfig = LCPNegotiator.Configuration()
        lcpConfig.mru = configuration.mru
        lcpConfig.requestACCM = configuration.requestACCM
        switch configuration.role {
        case .server:
            lcpConfig.authenticatePeerWith = configuration.policy.authentication
            lcpConfig.authenticateSelfWith = []
        case .client:
            lcpConfig.authenticatePeerWith = []
            lcpConfig.authenticateSelfWith = configuration.policy.authentication
        }
        var r = random
        let lcpRandom = SplitMix64(seed: r.next())
        let ipv6Random = SplitMix64(seed: r.next())
        self.random = SplitMix64(seed: r.next())
        lcp = NegotiationAutomaton(
            negotiator: LCPNegotiator(configuration: lcpConfig, random: lcpRandom),
            configuration: configuration.automaton
        )
        ccp = NegotiationAutomaton(
            negotiator: CCPNegotiator(policy: configuration.policy.encryption),
            configuration: configuration.automaton
        )
        ipcp = NegotiationAutomaton(
            negotiator: IPCPNegotiator(role: configuration.ipcp),
            configuration: configuration.automaton
        )
        if configuration.ipv6 {
            ipv6cp = NegotiationAutomaton(
                negotiator: IPV6CPNegotiator(random: ipv6Random),
                configuration: configuration.automaton
            )
        }
    }

    /// The earliest time `timeout(now:)` has work to do.
    public var nextDeadline: NIODeadline? {
        // Folded pairwise, not through an array: the data plane asks after every packet
        // (SessionTable.reschedule), and the array literal and `compactMap` cost two heap allocations.
        var next = earliestDeadline(lcp.nextDeadline, ccp.nextDeadline)
        next = earliestDeadline(next, ipcp.nextDeadline)
        next = earliestDeadline(next, ipv6cp?.nextDeadline)
        next = earliestDeadline(next, authenticator?.nextDeadline)
        next = earliestDeadline(next, authenticatingPeer?.nextDeadline)
        next = earliestDeadline(next, keepalive.nextDeadline)
        return earliestDeadline(next, handshakeDeadline)
    }

    /// Whether IP packets can flow.
    public var isNetworkUp: Bool { dataPath.ipv4Open || dataPath.ipv6Open }

    // MARK: - Inputs

    /// The lower layer (the PPTP call) is up: start LCP (RFC 1661 §3.2 Link Establishment).
    public mutating func start(now: NIODeadline) -> [PPPSessionAction] {
        guard phase == .dead, downReason == nil else { return [] }
        phase = .establish
        handshakeDeadline = configuration.handshakeTimeout.map { now + $0 }
        var actions: [PPPSessionAction] = []
        handleLCP(lcp.handle(.open, now: now), now: now, into: &actions)
        handleLCP(lcp.handle(.up, now: now), now: now, into: &actions)
        return actions
    }

    /// Closes the link politely: LCP Terminate-Request with `reason`.
    public mutating func close(_ reason: LocalCloseReason, now: NIODeadline) -> [PPPSessionAction] {
        guard downReason == nil else { return [] }
        if pendingDownReason == nil { pendingDownReason = .localClose(reason) }
        var actions: [PPPSessionAction] = []
        closeNetwork(now: now, into: &actions)
        phase = .terminate
        handleLCP(lcp.handle(.close(reason: Array(reason.terminateText.utf8)), now: now), now: now, into: &actions)
        return actions
    }

    /// The lower layer went away: no goodbye is possible.
    public mutating func lowerLayerDown(now: NIODeadline) -> [PPPSessionAction] {
        guard downReason == nil else { return [] }
        if pendingDownReason == nil { pendingDownReason = .lowerLayerDown }
        var actions: [PPPSessionAction] = []
        closeNetwork(now: now, into: &actions)
        handleLCP(lcp.handle(.down, now: now), now: now, into: &actions)
        finish(now: now, into: &actions)
        return actions
    }

    /// A control frame (or a frame of an unknown protocol) from the peer.
    public mutating func receive(_ frame: PPPFrame, now: NIODeadline) -> [PPPSessionAction] {
        receive(frame.protocolNumber, information: Array(frame.information.readableBytesView), now: now)
    }

    /// The information field of a frame of `protocolNumber` (from `PPPDataPath.decapsulate`).
    public mutating func receive(
        _ protocolNumber: PPPProtocolNumber,
        information: [UInt8],
        now: NIODeadline
    ) -> [PPPSessionAction] {
        guard downReason == nil, phase != .dead else { return [] }
        counters.framesReceived += 1
        // Any traffic proves the peer alive (pppd's lcp-echo-adaptive).
        keepalive.peerIsAlive()
        var actions: [PPPSessionAction] = []
        if protocolNumber == .lcp {
            guard let packet = try? ControlPacket(parsing: information) else {
                counters.malformed += 1
                return []
            }
            if packet.code == .terminateRequest && pendingDownReason == nil {
                pendingDownReason = .peerTerminated(String(decoding: packet.data, as: UTF8.self))
            }
            handleLCP(lcp.handle(.received(packet), now: now), now: now, into: &actions)
            return actions
        }
        // RFC 1661 §3.4: until LCP is Opened, any non-LCP packet is silently discarded.
        guard lcp.isOpened else {
            counters.discardedBeforePhase += 1
            return []
        }
        guard let packet = try? ControlPacket(parsing: information) else {
            if protocolNumber.isNetworkControlProtocol || protocolNumber.isLinkControlProtocol {
                counters.malformed += 1
            }
            if !isKnown(protocolNumber) {
                protocolReject(protocolNumber, information: information, now: now, into: &actions)
            }
            return actions
        }
        switch protocolNumber {
        case .pap, .chap:
            receiveAuthentication(protocolNumber, packet, now: now, into: &actions)
        case .ccp:
            // RFC 1661 §3.5: NCP packets before the Network phase are discarded.
            guard phase == .network, configuration.policy.encryption.allowsEncryption else {
                if phase == .network { protocolReject(.ccp, information: information, now: now, into: &actions) }
                return actions
            }
            handleCCP(ccp.handle(.received(packet), now: now), now: now, into: &actions)
        case .ipcp:
            if holdEarlyRequest(packet, for: .ipcp) { return actions }
            guard phase == .network else {
                counters.discardedBeforePhase += 1
                return actions
            }
            handleIPCP(ipcp.handle(.received(packet), now: now), now: now, into: &actions)
        case .ipv6cp where ipv6cp != nil:
            if holdEarlyRequest(packet, for: .ipv6cp) { return actions }
            guard phase == .network else {
                counters.discardedBeforePhase += 1
                return actions
            }
            driveIPV6CP(.received(packet), now: now, into: &actions)
        default:
            // RFC 1661 §5.7: an unknown (or disabled) protocol is Protocol-Rejected.
            protocolReject(protocolNumber, information: information, now: now, into: &actions)
        }
        return actions
    }

    /// Holds an IPCP or IPV6CP Configure-Request that arrives while its NCP waits to be opened: in the
    /// Authenticate phase, or in the Network phase before CCP has settled encryption. Answered at once it
    /// would get Terminate-Ack (RFC 1661 §4.1: RCR in Closed is sta), and the peer would wait a whole
    /// restart period (3 s) to send it again: accel-ppp sends its IPCP request right after CHAP Success,
    /// Windows before CCP opens. RFC 1661 §3.5 only says NCP packets are handled in the Network phase, so
    /// the latest request is kept and handled as if it arrived when the NCP opens (`openIPNCPs`).
    mutating func holdEarlyRequest(_ packet: ControlPacket, for protocolNumber: PPPProtocolNumber) -> Bool {
        guard packet.code == .configureRequest, !ncpsOpened, phase == .authenticate || phase == .network else {
            return false
        }
        counters.heldEarlyRequests += 1
        if protocolNumber == .ipv6cp { earlyRequests.ipv6cp = packet } else { earlyRequests.ipcp = packet }
        return true
    }

    func isKnown(_ protocolNumber: PPPProtocolNumber) -> Bool {
        [.lcp, .pap, .chap, .ccp, .ipcp].contains(protocolNumber) || (protocolNumber == .ipv6cp && ipv6cp != nil)
    }

    /// The verdict on a `.verify` request.
    public mutating func receive(verdict: AuthenticationVerdict, now: NIODeadline) -> [PPPSessionAction] {
        guard downReason == nil, var machine = authenticator else { return [] }
        let result = machine.receive(verdict: verdict, now: now)
        authenticator = machine
        var actions: [PPPSessionAction] = []
        handleAuthentication(result, now: now, into: &actions)
        return actions
    }

    /// Sets the addresses IPCP will use (a server learns the user's fixed address only when it
    /// verifies the credentials). Effective only before IPCP has started.
    @discardableResult
    public mutating func assignAddresses(_ role: IPCPNegotiator.Role) -> Bool {
        guard ipcp.state == .initial else { return false }
        ipcp = NegotiationAutomaton(negotiator: IPCPNegotiator(role: role), configuration: configuration.automaton)
        return true
    }

    /// Sends an LCP Echo-Request now, to check the peer is alive; the reply is reported as
    /// `.echoReply(roundTrip:)`.
    public mutating func probeLiveness(now: NIODeadline) -> [PPPSessionAction] {
        guard lcp.isOpened, downReason == nil else { return [] }
        return [echoRequest(keepalive.request(now: now))]
    }

    /// Stateful MPPE lost a packet: ask the peer to flush (RFC 3078 §8.2, CCP Reset-Request).
    public mutating func requestEncryptionReset(now: NIODeadline) -> [PPPSessionAction] {
        guard ccp.isOpened else { return [] }
        let packet = ccp.makePacket(.resetRequest([]))
        return [.send(controlFrame(.ccp, packet))]
    }

    /// Runs the timers that are due.
    public mutating func timeout(now: NIODeadline) -> [PPPSessionAction] {
        guard downReason == nil else { return [] }
        var actions: [PPPSessionAction] = []
        if let deadline = handshakeDeadline, now >= deadline {
            handshakeDeadline = nil
            let stuck = phase
            pendingDownReason = pendingDownReason ?? .handshakeTimeout(stuck)
            actions += close(.handshakeTimeout, now: now)
        }
        if let deadline = lcp.nextDeadline, now >= deadline {
            handleLCP(lcp.handle(.timeout, now: now), now: now, into: &actions)
        }
        if var machine = authenticator, let deadline = machine.nextDeadline, now >= deadline {
            let result = machine.timeout(now: now)
            authenticator = machine
            handleAuthentication(result, now: now, into: &actions)
        }
        if var machine = authenticatingPeer, let deadline = machine.nextDeadline, now >= deadline {
            let result = machine.timeout(now: now)
            authenticatingPeer = machine
            handleAuthentication(result, now: now, into: &actions)
        }
        if let deadline = ccp.nextDeadline, now >= deadline {
            handleCCP(ccp.handle(.timeout, now: now), now: now, into: &actions)
        }
        if let deadline = ipcp.nextDeadline, now >= deadline {
            handleIPCP(ipcp.handle(.timeout, now: now), now: now, into: &actions)
        }
        if let deadline = ipv6cp?.nextDeadline, now >= deadline { driveIPV6CP(.timeout, now: now, into: &actions) }
        if downReason == nil {
            switch keepalive.due(now: now) {
            case .nothing: break
            case .sendRequest(let identifier): actions.append(echoRequest(identifier))
            case .giveUp(let unanswered):
                pendingDownReason = pendingDownReason ?? .echoTimeout(unanswered: unanswered)
                actions += close(.peerNotResponding, now: now)
            }
        }
        return actions
    }

    // MARK: - LCP

    /// Sends `packet` of a control protocol (counted).
    mutating func emit(
        _ protocolNumber: PPPProtocolNumber,
        _ packet: ControlPacket,
        into actions: inout [PPPSessionAction]
    ) {
        counters.framesSent += 1
        actions.append(.send(controlFrame(protocolNumber, packet)))
    }

    func controlFrame(_ protocolNumber: PPPProtocolNumber, _ packet: ControlPacket) -> PPPFrame {
        // RFC 1661 §6.6: LCP packets are always sent with Address and Control; other control
        // protocols follow what was negotiated (pppd omits them with ACFC, as capture 01 shows).
        let compressAC = protocolNumber != .lcp && lcp.negotiator.agreed.sendACFC && lcp.isOpened
        let header = PPPFrameHeader.sending(
            protocolNumber,
            addressControlCompressed: compressAC,
            protocolCompressed: false
        )
        return PPPFrame(header: header, information: ByteBuffer(bytes: packet.bytes))
    }

    mutating func handleLCP(
        _ results: [NegotiationAutomaton<LCPNegotiator>.Action],
        now: NIODeadline,
        into actions: inout [PPPSessionAction]
    ) {
        for result in results {
            switch result {
            case .send(let packet):
                emit(.lcp, packet, into: &actions)
            case .thisLayerUp:
                lcpUp(now: now, into: &actions)
            case .thisLayerDown:
                closeNetwork(now: now, into: &actions)
                keepalive.stop()
                if phase != .terminate && phase != .dead { phase = .establish }
            case .thisLayerStarted:
                break  // the PPTP call is already up
            case .thisLayerFinished(let failure):
                if pendingDownReason == nil {
                    if lcp.negotiator.loopbackDetected {
                        pendingDownReason = .negotiationFailed(.loopbackDetected)
                    } else if let failure {
                        pendingDownReason = .negotiationFailed(failure)
                    }
                }
                finish(now: now, into: &actions)
            case .deliver(let message, let identifier):
                handleLCPExtra(message, identifier: identifier, now: now, into: &actions)
            }
        }
    }

    mutating func lcpUp(now: NIODeadline, into actions: inout [PPPSessionAction]) {
        let agreed = lcp.negotiator.agreed
        dataPath.sendPFC = agreed.sendPFC
        dataPath.sendACFC = agreed.sendACFC
        dataPath.peerMRU = Int(agreed.peerMRU)
        actions.append(.event(.linkEstablished(agreed)))
        keepalive.start(now: now)
        phase = .authenticate

        // Policy checks that need LCP's answer, before any secret is sent.
        switch configuration.role {
        case .server:
            if !configuration.policy.authentication.isEmpty && agreed.peerMustAuthenticate == nil {
                fail(.negotiationFailed(.authenticationRefused), now: now, into: &actions)
                return
            }
        case .client:
            break
        }
        let method = configuration.role == .server ? agreed.peerMustAuthenticate : agreed.selfMustAuthenticate
        if configuration.policy.encryption.required && !(method?.providesMPPEKeys ?? false) {
            fail(.encryptionNeedsMSCHAP(method), now: now, into: &actions)
            return
        }

        if let method = agreed.peerMustAuthenticate {
            authenticationPending.peer = true
            var machine = Authenticator(
                method: method,
                name: configuration.name,
                timers: configuration.authenticationTimers,
                maxAttempts: configuration.maxAuthenticationAttempts,
                random: SplitMix64(seed: random.next())
            )
            let result = machine.start(now: now)
            authenticator = machine
            handleAuthentication(result, now: now, into: &actions)
        }
        if let method = agreed.selfMustAuthenticate {
            guard let credentials = configuration.credentials else {
                fail(.authenticationFailed(.noCredentials), now: now, into: &actions)
                return
            }
            authenticationPending.local = true
            var machine = AuthenticatingPeer(
                method: method,
                credentials: credentials,
                timers: configuration.authenticationTimers,
                random: SplitMix64(seed: random.next())
            )
            let result = machine.start(now: now)
            authenticatingPeer = machine
            handleAuthentication(result, now: now, into: &actions)
        }
        if !authenticationPending.peer && !authenticationPending.local && downReason == nil && pendingDownReason == nil
        {
            enterNetworkPhase(now: now, into: &actions)
        }
    }

    mutating func handleLCPExtra(
        _ message: LCPMessage,
        identifier: UInt8,
        now: NIODeadline,
        into actions: inout [PPPSessionAction]
    ) {
        let agreed = lcp.negotiator.agreed
        switch message {
        case .echoRequest(let magic, let data):
            // RFC 1661 §5.8: a request carrying our own magic number means a looped link.
            if magic != 0 && magic == agreed.localMagic && agreed.localMagic != 0 { return }
            // Truncated to the peer's MRU (accel-ppp#204).
            let reply = LCPMessage.echoReply(
                magic: agreed.localMagic,
                data: Array(data.prefix(max(0, Int(agreed.peerMRU) - 8)))
            )
            counters.framesSent += 1
            actions.append(.send(controlFrame(.lcp, reply.packet(identifier: identifier))))
        case .echoReply:
            counters.echoRepliesReceived += 1
            if let roundTrip = keepalive.replyReceived(identifier: identifier, now: now) {
                actions.append(.event(.echoReply(roundTrip: roundTrip)))
            }
        case .protocolReject(let rejected, _):
            actions.append(.event(.protocolRejected(rejected)))
            protocolWasRejected(rejected, now: now, into: &actions)
        case .identification(_, let text):
            actions.append(.event(.peerIdentification(String(decoding: text, as: UTF8.self))))
        case .discardRequest, .timeRemaining:
            break
        case .configureRequest, .configureAck, .configureNak, .configureReject, .terminateRequest, .terminateAck,
            .codeReject,
            .resetRequest, .resetAck, .unknown:
            break  // handled by the automaton
        }
    }

    /// An LCP Echo-Request with our magic number (RFC 1661 §5.8).
    mutating func echoRequest(_ identifier: UInt8) -> PPPSessionAction {
        counters.echoRequestsSent += 1
        let request = LCPMessage.echoRequest(magic: lcp.negotiator.agreed.localMagic, data: [])
        counters.framesSent += 1
        return .send(controlFrame(.lcp, request.packet(identifier: identifier)))
    }

    mutating func protocolReject(
        _ protocolNumber: PPPProtocolNumber,
        information: [UInt8],
        now: NIODeadline,
        into actions: inout [PPPSessionAction]
    ) {
        guard lcp.isOpened else { return }
        // RFC 1661 §5.7: the rejected information, truncated to fit the peer's MRU.
        let room = max(0, Int(lcp.negotiator.agreed.peerMRU) - 6)
        let packet = lcp.makePacket(.protocolReject(protocolNumber, information: Array(information.prefix(room))))
        counters.protocolRejectsSent += 1
        counters.framesSent += 1
        actions.append(.send(controlFrame(.lcp, packet)))
    }

    mutating func protocolWasRejected(
        _ rejected: PPPProtocolNumber,
        now: NIODeadline,
        into actions: inout [PPPSessionAction]
    ) {
        switch rejected {
        case .ccp:
            // The peer will not do CCP at all.
            handleCCP(ccp.handle(.close(reason: []), now: now), now: now, into: &actions)
            if configuration.policy.encryption.required {
                fail(.negotiationFailed(.encryptionRefused), now: now, into: &actions)
            } else {
                openIPNCPs(now: now, into: &actions)
            }
        case .compressedDatagram where dataPath.encryptionActive:
            // RFC 1661 §5.7: we must stop sending the rejected protocol, and with MPPE agreed every
            // datagram is an 0x00FD frame: the tunnel is dark both ways, so end it (a new call
            // works). accel-ppp 1.14 does this when our CCP Configure-Ack reaches its kernel before
            // accel-pppd has marked CCP open there (ppp_ccp.c sets SC_CCP_OPEN after sending its
            // Configure-Request), which leaves the kernel's MPPE decryption off for the session.
            counters.encryptedFramesRejected += 1
            fail(.negotiationFailed(.encryptedFramesRejected), now: now, into: &actions)
        case .ipcp:
            handleIPCP(ipcp.handle(.down, now: now), now: now, into: &actions)
            if ipv6cp == nil { fail(.negotiationFailed(.protocolRejected(.ipcp)), now: now, into: &actions) }
        case .ipv6cp:
            if var automaton = ipv6cp {
                _ = automaton.handle(.down, now: now)
                ipv6cp = automaton
            }
            ipv6cp = nil
        default:
            break
        }
    }

    // MARK: - Ending

    mutating func closeNetwork(now: NIODeadline, into actions: inout [PPPSessionAction]) {
        dataPath.ipv4Open = false
        dataPath.ipv6Open = false
    }

    /// Ends the session for `reason`: LCP Terminate (the reason is reported once LCP finishes).
    mutating func fail(_ reason: PPPDownReason, now: NIODeadline, into actions: inout [PPPSessionAction]) {
        guard downReason == nil else { return }
        if pendingDownReason == nil { pendingDownReason = reason }
        guard phase != .terminate else { return }
        phase = .terminate
        closeNetwork(now: now, into: &actions)
        handleLCP(
            lcp.handle(.close(reason: Array(reason.description.utf8.prefix(64))), now: now),
            now: now,
            into: &actions
        )
        if lcp.state == .closed || lcp.state == .initial || lcp.state == .stopped {
            finish(now: now, into: &actions)
        }
    }

    mutating func finish(now: NIODeadline, into actions: inout [PPPSessionAction]) {
        guard downReason == nil else { return }
        if let refused = lcp.negotiator.refusedPeerAuthentication ?? lcp.negotiator.refusedByPeer,
            authenticationMethod == nil, network == nil
        {
            // The peer gave up (Terminate, hang-up, silence) after we refused the authentication
            // protocol it asked for: that is the real reason, whatever else it said.
            switch pendingDownReason {
            case nil, .peerTerminated?, .lowerLayerDown?, .negotiationFailed(.peerNotResponding)?,
                .negotiationFailed(.notConverging)?:
                pendingDownReason = .negotiationFailed(.noCommonAuthenticationMethod(requested: refused))
            default:
                break
            }
        }
        if case .peerTerminated(let text)? = pendingDownReason, authenticationMethod != nil, network == nil,
            configuration.policy.encryption.required, !encryptionCameUp,
            text.isEmpty || text.contains("MPPE") || text.contains("CCP") || text.lowercased().contains("encrypt")
        {
            // The peer ended the link in the Network phase before MPPE came up, with no other reason:
            // it found no MPPE it would take (accel-ppp, offered 40-bit only, ends the link with an
            // empty Terminate-Request; pppd says "MPPE required but not available").
            pendingDownReason = .negotiationFailed(.encryptionRefused)
        }
        let reason = pendingDownReason ?? .localClose(.other(""))
        downReason = reason
        phase = .dead
        keepalive.stop()
        handshakeDeadline = nil
        dataPath.ipv4Open = false
        dataPath.ipv6Open = false
        dataPath.stopEncryption()
        actions.append(.event(.down(reason)))
    }
}

/// The NCP Configure-Requests a session holds until their NCP opens (the latest of each).
struct EarlyNCPRequests: Sendable {
    var ipcp: ControlPacket?
    var ipv6cp: ControlPacket?
}

/// The earlier of two optional deadlines; nil when both are.
@inline(__always)
func earliestDeadline(_ a: NIODeadline?, _ b: NIODeadline?) -> NIODeadline? {
    guard let a else { return b }
    guard let b else { return a }
    return min(a, b)
}
