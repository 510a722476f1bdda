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
    public private(set) var phase: PPPPhase = .dead
    public var dataPath = PPPDataPath()
    public private(set) var counters = PPPControlCounters()
    /// Why the session ended, once it has.
    public private(set) var downReason: PPPDownReason?

    public private(set) var lcp: NegotiationAutomaton<LCPNegotiator>
    public private(set) var ccp: NegotiationAutomaton<CCPNegotiator>
    public private(set) var ipcp: NegotiationAutomaton<IPCPNegotiator>
    public private(set) var ipv6cp: NegotiationAutomaton<IPV6CPNegotiator>?
    public private(set) var authenticator: Authenticator?
    public private(set) var authenticatingPeer: AuthenticatingPeer?

    /// The user the peer authenticated as (server), or we authenticated as (client).
    public private(set) var userName: String?
    public private(set) var authenticationMethod: AuthenticationMethod?
    public private(set) var network: IPv4NetworkSettings?
    private var keys: MPPEKeyMaterial?
    private var random: any RandomNumberGenerator & Sendable

    private var pendingDownReason: PPPDownReason?
    private var handshakeDeadline: NIODeadline?
    private var ncpsOpened = false
    /// IPCP and IPV6CP Configure-Requests that arrived before their NCP was opened, replayed when it opens
    /// (see `holdEarlyRequest`).
    private var earlyRequests = EarlyNCPRequests()
    private var authenticationPending: (peer: Bool, local: Bool) = (false, false)

    // LCP echo keepalive (RFC 1661 §5.8).
    private var nextEcho: NIODeadline?
    private var unansweredEchoes = 0
    private var echoIdentifier: UInt8 = 0
    private var echoSentAt: [UInt8: NIODeadline] = [:]

    public init(
        configuration: PPPSessionConfiguration,
        random: any RandomNumberGenerator & Sendable = SystemRandomNumberGenerator()
    ) {
        self.configuration = configuration
        self.random = random
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
        next = earliestDeadline(next, nextEcho)
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
    public mutating func close(reason: String, now: NIODeadline) -> [PPPSessionAction] {
        guard downReason == nil else { return [] }
        if pendingDownReason == nil { pendingDownReason = .localClose(reason) }
        var actions: [PPPSessionAction] = []
        closeNetwork(now: now, into: &actions)
        phase = .terminate
        handleLCP(lcp.handle(.close(reason: Array(reason.utf8)), now: now), now: now, into: &actions)
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
        unansweredEchoes = 0
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
            if var automaton = ipv6cp {
                let result = automaton.handle(.received(packet), now: now)
                ipv6cp = automaton
                handleIPV6CP(result, now: now, into: &actions)
            }
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
    private mutating func holdEarlyRequest(_ packet: ControlPacket, for protocolNumber: PPPProtocolNumber) -> Bool {
        guard packet.code == .configureRequest, !ncpsOpened, phase == .authenticate || phase == .network else {
            return false
        }
        counters.heldEarlyRequests += 1
        if protocolNumber == .ipv6cp { earlyRequests.ipv6cp = packet } else { earlyRequests.ipcp = packet }
        return true
    }

    private func isKnown(_ protocolNumber: PPPProtocolNumber) -> Bool {
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
        return [sendEcho(now: now)]
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
            actions += close(reason: "Link set-up timed out", now: now)
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
        if var automaton = ipv6cp, let deadline = automaton.nextDeadline, now >= deadline {
            let result = automaton.handle(.timeout, now: now)
            ipv6cp = automaton
            handleIPV6CP(result, now: now, into: &actions)
        }
        if let deadline = nextEcho, now >= deadline, downReason == nil {
            if unansweredEchoes >= configuration.echoFailures {
                // pppd: "No response to N echo-requests", then LCP Terminate.
                nextEcho = nil
                pendingDownReason = pendingDownReason ?? .echoTimeout(unanswered: unansweredEchoes)
                actions += close(reason: "Peer not responding", now: now)
            } else {
                actions.append(sendEcho(now: now))
            }
        }
        return actions
    }

    // MARK: - LCP

    private func controlFrame(_ protocolNumber: PPPProtocolNumber, _ packet: ControlPacket) -> PPPFrame {
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

    private mutating func handleLCP(
        _ results: [NegotiationAutomaton<LCPNegotiator>.Action],
        now: NIODeadline,
        into actions: inout [PPPSessionAction]
    ) {
        for result in results {
            switch result {
            case .send(let packet):
                counters.framesSent += 1
                actions.append(.send(controlFrame(.lcp, packet)))
            case .thisLayerUp:
                lcpUp(now: now, into: &actions)
            case .thisLayerDown:
                closeNetwork(now: now, into: &actions)
                nextEcho = nil
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

    private mutating func lcpUp(now: NIODeadline, into actions: inout [PPPSessionAction]) {
        let agreed = lcp.negotiator.agreed
        dataPath.sendPFC = agreed.sendPFC
        dataPath.sendACFC = agreed.sendACFC
        dataPath.peerMRU = Int(agreed.peerMRU)
        actions.append(.event(.linkEstablished(agreed)))
        if let interval = configuration.echoInterval {
            nextEcho = now + interval
        }
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

    private mutating func handleLCPExtra(
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
            unansweredEchoes = 0
            if let sent = echoSentAt.removeValue(forKey: identifier) {
                actions.append(.event(.echoReply(roundTrip: now - sent)))
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

    private mutating func sendEcho(now: NIODeadline) -> PPPSessionAction {
        echoIdentifier &+= 1
        unansweredEchoes += 1
        counters.echoRequestsSent += 1
        echoSentAt[echoIdentifier] = now
        if echoSentAt.count > 8, let oldest = echoSentAt.min(by: { $0.value < $1.value })?.key {
            echoSentAt[oldest] = nil
        }
        if let interval = configuration.echoInterval { nextEcho = now + interval }
        let request = LCPMessage.echoRequest(magic: lcp.negotiator.agreed.localMagic, data: [])
        counters.framesSent += 1
        return .send(controlFrame(.lcp, request.packet(identifier: echoIdentifier)))
    }

    private mutating func protocolReject(
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

    private mutating func protocolWasRejected(
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

    // MARK: - Authentication

    private mutating func receiveAuthentication(
        _ protocolNumber: PPPProtocolNumber,
        _ packet: ControlPacket,
        now: NIODeadline,
        into actions: inout [PPPSessionAction]
    ) {
        // CHAP codes 2 (Response) and 7 (Change-Password) go to the authenticator; 1, 3, 4 to
        // the peer. PAP: 1 to the authenticator, 2 and 3 to the peer.
        let toAuthenticator =
            protocolNumber == .pap ? packet.code.rawValue == 1 : [2, 7].contains(packet.code.rawValue)
        if toAuthenticator, var machine = authenticator,
            machine.method == (protocolNumber == .pap ? .pap : machine.method)
        {
            let result = machine.receive(packet, now: now)
            authenticator = machine
            handleAuthentication(result, now: now, into: &actions)
        } else if !toAuthenticator, var machine = authenticatingPeer {
            let result = machine.receive(packet, now: now)
            authenticatingPeer = machine
            handleAuthentication(result, now: now, into: &actions)
        } else if phase == .network && authenticator == nil && authenticatingPeer == nil {
            protocolReject(protocolNumber, information: packet.bytes, now: now, into: &actions)
        }
    }

    private mutating func handleAuthentication(
        _ results: [AuthenticationAction],
        now: NIODeadline,
        into actions: inout [PPPSessionAction]
    ) {
        for result in results {
            switch result {
            case .send(let protocolNumber, let packet):
                counters.framesSent += 1
                actions.append(.send(controlFrame(protocolNumber, packet)))
            case .verify(let request):
                actions.append(.verify(request))
            case .succeeded(let user, let method, let material):
                if configuration.role == .server {
                    authenticationPending.peer = false
                    keys = material
                } else {
                    authenticationPending.local = false
                    keys = keys ?? material
                }
                userName = user
                authenticationMethod = method
                actions.append(.event(.authenticated(userName: user, method: method)))
                if !authenticationPending.peer && !authenticationPending.local && phase == .authenticate {
                    enterNetworkPhase(now: now, into: &actions)
                }
            case .failed(let failure):
                fail(.authenticationFailed(failure), now: now, into: &actions)
            case .passwordChanged:
                actions.append(.event(.passwordChanged))
            }
        }
    }

    // MARK: - Network phase

    private mutating func enterNetworkPhase(now: NIODeadline, into actions: inout [PPPSessionAction]) {
        phase = .network
        // NCPs are Up now and Opened only once encryption is settled; a request that comes
        // before that waits for it (`holdEarlyRequest`).
        handleIPCP(ipcp.handle(.up, now: now), now: now, into: &actions)
        if var automaton = ipv6cp {
            let result = automaton.handle(.up, now: now)
            ipv6cp = automaton
            handleIPV6CP(result, now: now, into: &actions)
        }
        let encryption = configuration.policy.encryption
        if encryption.allowsEncryption && keys != nil {
            handleCCP(ccp.handle(.open, now: now), now: now, into: &actions)
            handleCCP(ccp.handle(.up, now: now), now: now, into: &actions)
            if !encryption.required { openIPNCPs(now: now, into: &actions) }
        } else if encryption.required {
            fail(.encryptionNeedsMSCHAP(authenticationMethod), now: now, into: &actions)
        } else {
            openIPNCPs(now: now, into: &actions)
        }
    }

    private mutating func openIPNCPs(now: NIODeadline, into actions: inout [PPPSessionAction]) {
        guard !ncpsOpened, downReason == nil else { return }
        ncpsOpened = true
        handleIPCP(ipcp.handle(.open, now: now), now: now, into: &actions)
        if let early = earlyRequests.ipcp {
            earlyRequests.ipcp = nil
            handleIPCP(ipcp.handle(.received(early), now: now), now: now, into: &actions)
        }
        if var automaton = ipv6cp {
            var result = automaton.handle(.open, now: now)
            if let early = earlyRequests.ipv6cp {
                earlyRequests.ipv6cp = nil
                result += automaton.handle(.received(early), now: now)
            }
            ipv6cp = automaton
            handleIPV6CP(result, now: now, into: &actions)
        }
    }

    private mutating func handleCCP(
        _ results: [NegotiationAutomaton<CCPNegotiator>.Action],
        now: NIODeadline,
        into actions: inout [PPPSessionAction]
    ) {
        for result in results {
            switch result {
            case .send(let packet):
                counters.framesSent += 1
                actions.append(.send(controlFrame(.ccp, packet)))
            case .thisLayerUp:
                guard let sending = ccp.negotiator.sending, let receiving = ccp.negotiator.receiving, let keys,
                    let (sendKey, receiveKey) = try? keys.keys(send: sending.strength, receive: receiving.strength)
                else {
                    if configuration.policy.encryption.required {
                        fail(.negotiationFailed(.encryptionRefused), now: now, into: &actions)
                    } else {
                        openIPNCPs(now: now, into: &actions)
                    }
                    continue
                }
                dataPath.startEncryption(
                    MPPEEncryptor(key: sendKey, mode: sending.mode, resetBehaviour: configuration.mppeResetBehaviour),
                    MPPEDecryptor(
                        key: receiveKey,
                        mode: receiving.mode,
                        resetBehaviour: configuration.mppeResetBehaviour,
                        lateKeyCacheSize: receiving.mode == .stateless ? configuration.mppeLateKeyCache : 0
                    )
                )
                actions.append(.event(.encryptionUp(send: sending, receive: receiving)))
                openIPNCPs(now: now, into: &actions)
            case .thisLayerDown:
                // RFC 3078 §1: with MPPE required, losing it ends the data flow.
                if configuration.policy.encryption.required {
                    dataPath.ipv4Open = false
                    dataPath.ipv6Open = false
                }
                dataPath.stopEncryption()
            case .thisLayerStarted:
                break
            case .thisLayerFinished(let failure):
                guard phase == .network, downReason == nil else { continue }
                if configuration.policy.encryption.required {
                    fail(.negotiationFailed(failure ?? .encryptionRefused), now: now, into: &actions)
                } else {
                    openIPNCPs(now: now, into: &actions)
                }
            case .deliver(let message, let identifier):
                switch message {
                case .resetRequest:
                    // RFC 1962 §2.1 / RFC 3078 §8.2: flush the sender, acknowledge.
                    dataPath.resetEncryptor()
                    counters.framesSent += 1
                    actions.append(.send(controlFrame(.ccp, CCPMessage.resetAck([]).packet(identifier: identifier))))
                case .resetAck:
                    break  // the decryptor resynchronises on the next FLUSHED packet
                default:
                    break
                }
            }
        }
    }

    private mutating func handleIPCP(
        _ results: [NegotiationAutomaton<IPCPNegotiator>.Action],
        now: NIODeadline,
        into actions: inout [PPPSessionAction]
    ) {
        for result in results {
            switch result {
            case .send(let packet):
                counters.framesSent += 1
                actions.append(.send(controlFrame(.ipcp, packet)))
            case .thisLayerUp:
                let agreed = ipcp.negotiator.agreed
                let local = agreed.localAddress ?? .unspecified
                var peer = agreed.peerAddress ?? .unspecified
                var dns = agreed.dnsServers
                if case .assigning(_, let assigned, let servers, _) = ipcp.negotiator.role {
                    peer = assigned
                    dns = servers
                }
                let settings = IPv4NetworkSettings(
                    localAddress: local,
                    peerAddress: peer,
                    dnsServers: dns,
                    largestDatagram: dataPath.largestDatagram
                )
                network = settings
                dataPath.ipv4Open = true
                handshakeDeadline = nil
                actions.append(.event(.networkUp(settings)))
            case .thisLayerDown:
                dataPath.ipv4Open = false
            case .thisLayerStarted:
                break
            case .thisLayerFinished(let failure):
                dataPath.ipv4Open = false
                // pppd: with no network protocol left, the link has no purpose.
                if phase == .network && downReason == nil && !(ipv6cp?.isOpened ?? false) && ncpsOpened {
                    fail(.negotiationFailed(failure ?? .addressRefused), now: now, into: &actions)
                }
            case .deliver:
                break
            }
        }
    }

    private mutating func handleIPV6CP(
        _ results: [NegotiationAutomaton<IPV6CPNegotiator>.Action],
        now: NIODeadline,
        into actions: inout [PPPSessionAction]
    ) {
        for result in results {
            switch result {
            case .send(let packet):
                counters.framesSent += 1
                actions.append(.send(controlFrame(.ipv6cp, packet)))
            case .thisLayerUp:
                if let automaton = ipv6cp, let local = automaton.negotiator.localIdentifier,
                    let peer = automaton.negotiator.peerIdentifier
                {
                    dataPath.ipv6Open = true
                    actions.append(.event(.ipv6Up(local: local, peer: peer)))
                }
            case .thisLayerDown, .thisLayerFinished:
                dataPath.ipv6Open = false
            case .thisLayerStarted, .deliver:
                break
            }
        }
    }

    // MARK: - Ending

    private mutating func closeNetwork(now: NIODeadline, into actions: inout [PPPSessionAction]) {
        dataPath.ipv4Open = false
        dataPath.ipv6Open = false
    }

    /// Ends the session for `reason`: LCP Terminate (the reason is reported once LCP finishes).
    private mutating func fail(_ reason: PPPDownReason, now: NIODeadline, into actions: inout [PPPSessionAction]) {
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

    private mutating func finish(now: NIODeadline, into actions: inout [PPPSessionAction]) {
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
        let reason = pendingDownReason ?? .localClose("")
        downReason = reason
        phase = .dead
        nextEcho = nil
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
