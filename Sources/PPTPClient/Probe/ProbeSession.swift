import NIOCore
import PPP
import PPTP

/// What `pptp probe` learnt about a server, without credentials.
public struct ProbeReport: Codable, Sendable, Hashable {
    public struct Control: Codable, Sendable, Hashable {
        public var protocolVersion: String
        public var hostName: String
        public var vendor: String
        public var firmwareRevision: Int
        public var framing: String
        public var bearer: String
        public var maximumChannels: Int
    }

    public struct Call: Codable, Sendable, Hashable {
        public var connected: Bool
        public var callID: Int?
        public var peerCallID: Int?
        public var peerWindow: Int?
        public var refusal: String?
    }

    public struct LCP: Codable, Sendable, Hashable {
        /// The server's last Configure-Request, as pppd prints options.
        public var serverOptions: [String] = []
        public var mru: Int?
        /// The authentication protocol the server asks for first.
        public var offered: String?
        /// Methods the server agreed to (asked for, or took from our Nak).
        public var accepted: [String] = []
        /// Methods the server would not take when we proposed them.
        public var refused: [String] = []
        /// The server opened LCP and asked us to authenticate (where the probe stops).
        public var askedForAuthentication = false
        /// Options of ours the server Nak'd or Rejected.
        public var ourOptionsNakedOrRejected: [String] = []
    }

    public var server: String
    public var port: Int
    public var tcpConnected = false
    public var control: Control?
    public var call: Call?
    public var greFromServer = 0
    public var lcp = LCP()
    /// How the probe ended, in words.
    public var outcome: String = ""
    public var weaknesses: [String] = []
    /// The exit code a monitoring script tests (see `pptp probe --help`).
    public var exitCode: Int32 = 0

    public init(server: String, port: Int) {
        self.server = server
        self.port = port
    }
}

/// The LCP policy of the probe: ask for nothing, and Nak the server's Authentication-Protocol
/// with each method in turn to learn which it accepts (RFC 1661 §6.2: a Nak proposes the
/// protocol the peer would rather use); ack once every method has been tried.
public struct ProbeLCPNegotiator: OptionNegotiator {
    public typealias Option = LCPOption

    private var magic: UInt32
    private var candidates: [AuthenticationMethod] = [.msCHAPv2, .msCHAPv1, .chapMD5, .pap, .eap]
    private var proposed: AuthenticationMethod?
    public private(set) var offered: AuthenticationProtocol?
    public private(set) var accepted: [AuthenticationMethod] = []
    public private(set) var refused: [AuthenticationMethod] = []
    public private(set) var lastRequest: [LCPOption] = []
    public private(set) var ourRefused: [LCPOption] = []
    public private(set) var agreedAuthentication: AuthenticationMethod?
    /// The server stopped asking for authentication after a Nak (pppd's reaction).
    public private(set) var stoppedAsking = false

    public init(magic: UInt32) { self.magic = magic }

    public mutating func resetNegotiation() {}

    public func requestOptions() -> [LCPOption] {
        [.magicNumber(magic), .protocolFieldCompression, .addressAndControlFieldCompression]
    }

    public mutating func evaluateRequest(_ options: [LCPOption]) -> RequestEvaluation<LCPOption> {
        lastRequest = options
        var rejects: [LCPOption] = []
        var requested: AuthenticationProtocol?
        for option in options {
            switch option {
            case .authenticationProtocol(let auth): requested = auth
            case .callback, .multilinkMRRU, .qualityProtocol, .other: rejects.append(option)
            case .maximumReceiveUnit, .asyncControlCharacterMap, .magicNumber, .protocolFieldCompression,
                .addressAndControlFieldCompression, .endpointDiscriminator:
                break
            }
        }
        if !rejects.isEmpty { return .reject(rejects) }
        guard let requested else {
            if let proposed {
                // pppd drops the option when Nak'd with a method it does not allow (and would
                // then refuse the link): the proposal was refused.
                if !refused.contains(proposed) { refused.append(proposed) }
                self.proposed = nil
                stoppedAsking = true
            }
            return .ack
        }
        if offered == nil { offered = requested }
        let method = requested.method
        if let method, !accepted.contains(method) { accepted.append(method) }
        if let proposed {
            // The server's answer to our last proposal.
            if method != proposed, !refused.contains(proposed), !accepted.contains(proposed) {
                refused.append(proposed)
            }
            self.proposed = nil
        }
        candidates.removeAll { $0 == method || accepted.contains($0) || refused.contains($0) }
        if let next = candidates.first {
            candidates.removeFirst()
            proposed = next
            return .nak([.authenticationProtocol(next.authenticationProtocol)])
        }
        agreedAuthentication = method
        return .ack
    }

    public mutating func requestAcknowledged(_ options: [LCPOption]) {}

    /// The link ended while a proposal was out: the server would not have it.
    mutating func linkEnded() {
        if let proposed, !accepted.contains(proposed), !refused.contains(proposed) { refused.append(proposed) }
        proposed = nil
    }

    public mutating func requestNaked(_ options: [LCPOption]) -> NegotiationStep {
        ourRefused.append(contentsOf: options)
        for case .magicNumber(let value) in options { magic = value &+ 0x5A5A }
        return .proceed
    }

    public mutating func requestRejected(_ options: [LCPOption]) -> NegotiationStep {
        ourRefused.append(contentsOf: options)
        return .proceed
    }
}

/// What the probe asks of its shell.
public enum ProbeAction: Hashable, Sendable {
    case sendControl(ByteBuffer)
    case sendGRE(ByteBuffer)
    /// Close the TCP connection; the probe is over.
    case finish
}

/// `pptp probe` as a sans-I/O engine: SCCRQ, one outgoing call, LCP until the server asks for
/// authentication (never sending any), then LCP Terminate, Call-Clear-Request and Stop-Control-
/// Connection. Reports what the server offered.
public struct ProbeSession: Sendable {
    public private(set) var report: ProbeReport
    private var control = ControlConnection(
        configuration: ControlConnectionConfiguration(
            role: .pns,
            vendor: "swift-pptp probe",
            establishTimeout: .seconds(15)
        )
    )
    private var lcp: NegotiationAutomaton<ProbeLCPNegotiator>
    private var sequencer: GRESequencer<[UInt8]>?
    private var call: CallInformation?
    private let callID: UInt16
    private var greDeadline: NIODeadline?
    private var overallDeadline: NIODeadline?
    private var ending = false
    public private(set) var finished = false
    private let greTimeout: TimeAmount

    public init(server: String, port: Int, callID: UInt16, magic: UInt32, greTimeout: TimeAmount = .seconds(10)) {
        report = ProbeReport(server: server, port: port)
        self.callID = callID
        self.greTimeout = greTimeout
        lcp = NegotiationAutomaton(
            negotiator: ProbeLCPNegotiator(magic: magic),
            configuration: AutomatonConfiguration(restartInterval: .seconds(2), maxConfigure: 6)
        )
    }

    public var nextDeadline: NIODeadline? {
        [control.nextDeadline, lcp.nextDeadline, sequencer?.nextDeadline, greDeadline, overallDeadline].compactMap {
            $0
        }.min()
    }

    /// TCP is connected.
    public mutating func start(now: NIODeadline) -> [ProbeAction] {
        report.tcpConnected = true
        overallDeadline = now + .seconds(45)
        return perform(control.connect(now: now), now: now)
    }

    public mutating func receiveControl(_ bytes: [UInt8], now: NIODeadline) -> [ProbeAction] {
        perform(control.receive(bytes: bytes, now: now), now: now)
    }

    /// The TCP connection closed under us.
    public mutating func controlClosed(now: NIODeadline) -> [ProbeAction] {
        if !finished && !ending { end("the server closed the control connection", code: report.control == nil ? 5 : 6) }
        finished = true
        return [.finish]
    }

    /// A GRE packet from the server.
    public mutating func receiveGRE(_ bytes: [UInt8], now: NIODeadline) -> [ProbeAction] {
        guard let call, let packet = try? GREPacket(parsing: ByteBuffer(bytes: bytes)),
            packet.header.callID == call.callID
        else { return [] }
        report.greFromServer += 1
        greDeadline = nil
        guard let sequence = packet.header.sequenceNumber, var sequencer else { return [] }
        // The probe takes the server's packets in the order they come: only the next (or first)
        // one, and only a control frame that parses, moves the sequence.
        guard case .process(.next) = sequencer.receive(sequence: sequence, now: now),
            let frame = try? PPPFrame(parsing: packet.payload),
            frame.protocolNumber == .lcp || frame.protocolNumber == .chap || frame.protocolNumber == .pap,
            let controlPacket = try? ControlPacket(parsing: frame.information)
        else {
            self.sequencer = sequencer
            return []
        }
        sequencer.commit(sequence, now: now)
        if let ack = packet.header.acknowledgmentNumber { sequencer.receiveAcknowledgment(ack, now: now) }
        self.sequencer = sequencer
        if frame.protocolNumber != .lcp {
            // A CHAP Challenge (or anything of authentication): the server asks us to prove who
            // we are. The probe stops here, having sent nothing secret.
            if lcp.isOpened { report.lcp.askedForAuthentication = true }
            return endProbe(now: now)
        }
        var actions = handleLCP(lcp.handle(.received(controlPacket), now: now), now: now)
        if lcp.isOpened && !ending {
            report.lcp.askedForAuthentication = lcp.negotiator.agreedAuthentication != nil
            if lcp.negotiator.agreedAuthentication == .pap || lcp.negotiator.agreedAuthentication == nil {
                // PAP: the server waits for us; nothing more to learn.
                actions += endProbe(now: now)
            }
        }
        return actions
    }

    public mutating func timeout(now: NIODeadline) -> [ProbeAction] {
        var actions: [ProbeAction] = []
        if let deadline = greDeadline, now >= deadline {
            greDeadline = nil
            end(
                "control connection up but no GRE from the server: protocol 47 is blocked by a firewall or a NAT without a PPTP helper",
                code: 7
            )
            actions += endProbe(now: now)
        }
        if let deadline = overallDeadline, now >= deadline, !ending {
            end("the probe did not finish in time", code: 10)
            actions += endProbe(now: now)
        }
        if let deadline = lcp.nextDeadline, now >= deadline {
            actions += handleLCP(lcp.handle(.timeout, now: now), now: now)
        }
        if var sequencer, let deadline = sequencer.nextDeadline, now >= deadline {
            for action in sequencer.timeout(now: now) {
                if case .sendAcknowledgment(let ack) = action, let call {
                    var buffer = ByteBuffer()
                    GREHeader(payloadLength: 0, callID: call.peerCallID, acknowledgmentNumber: ack).write(to: &buffer)
                    actions.append(.sendGRE(buffer))
                }
            }
            self.sequencer = sequencer
        }
        if let deadline = control.nextDeadline, now >= deadline {
            actions += perform(control.timeout(now: now), now: now)
        }
        return actions
    }

    // MARK: -

    private mutating func perform(_ results: [ControlAction], now: NIODeadline) -> [ProbeAction] {
        var actions: [ProbeAction] = []
        for result in results {
            switch result {
            case .send(let message):
                actions.append(.sendControl(message.serialized()))
            case .established(let peer):
                report.control = ProbeReport.Control(
                    protocolVersion: "\(peer.protocolVersion >> 8).\(peer.protocolVersion & 0xFF)",
                    hostName: peer.hostName,
                    vendor: peer.vendor,
                    firmwareRevision: Int(peer.firmwareRevision),
                    framing: peer.framingCapabilities.description,
                    bearer: peer.bearerCapabilities.description,
                    maximumChannels: Int(peer.maximumChannels)
                )
                actions += perform(control.placeOutgoingCall(callID: callID, serialNumber: 1, now: now), now: now)
            case .callConnected(let info):
                call = info
                report.call = ProbeReport.Call(
                    connected: true,
                    callID: Int(info.callID),
                    peerCallID: Int(info.peerCallID),
                    peerWindow: Int(info.peerWindow)
                )
                sequencer = GRESequencer(
                    configuration: GRESequencerConfiguration(respectPeerWindow: false),
                    peerWindow: info.peerWindow
                )
                greDeadline = now + greTimeout
                actions += handleLCP(lcp.handle(.open, now: now), now: now)
                actions += handleLCP(lcp.handle(.up, now: now), now: now)
            case .callCleared(_, let reason):
                if call == nil {
                    report.call = ProbeReport.Call(connected: false, refusal: reason.description)
                    end("the server refused the call: \(reason)", code: 6)
                }
                actions += perform(control.stop(reason: .none, now: now), now: now)
            case .close(let reason):
                if report.control == nil { end("the control connection failed: \(reason)", code: 5) }
                finished = true
                actions.append(.finish)
            case .callOffered(let offer):
                actions += perform(control.answerCall(peerCallID: offer.peerCallID, with: nil, now: now), now: now)
            case .linkInfo, .wanError, .violation, .peerQuirk:
                break
            }
        }
        return actions
    }

    private mutating func handleLCP(
        _ results: [NegotiationAutomaton<ProbeLCPNegotiator>.Action],
        now: NIODeadline
    ) -> [ProbeAction] {
        var actions: [ProbeAction] = []
        for result in results {
            switch result {
            case .send(let packet):
                if let frame = greFrame(.lcp, packet, now: now) { actions.append(.sendGRE(frame)) }
            case .thisLayerFinished(let failure):
                lcp.negotiator.linkEnded()
                if !ending {
                    if report.greFromServer == 0 {
                        end(
                            "control connection up but no GRE from the server: protocol 47 is blocked by a firewall or a NAT without a PPTP helper",
                            code: 7
                        )
                    } else if lcp.negotiator.offered != nil {
                        end(
                            "the server hung up while we tried other authentication methods; it asks for \(lcp.negotiator.offered?.method?.rawValue ?? "?")",
                            code: 0
                        )
                    } else {
                        end(
                            "LCP ended before authentication: \(failure.map { "\($0)" } ?? "terminated by the server")",
                            code: 10
                        )
                    }
                }
                collect()
                report.weaknesses = weaknesses()
                actions += hangUp(now: now)
            case .deliver(.echoRequest(_, let data), let identifier):
                let reply = LCPMessage.echoReply(magic: 0, data: data).packet(identifier: identifier)
                if let frame = greFrame(.lcp, reply, now: now) { actions.append(.sendGRE(frame)) }
            case .thisLayerUp, .thisLayerDown, .thisLayerStarted, .deliver:
                break
            }
        }
        collect()
        return actions
    }

    private mutating func collect() {
        let negotiator = lcp.negotiator
        report.lcp.serverOptions = negotiator.lastRequest.map(\.description)
        for case .maximumReceiveUnit(let mru) in negotiator.lastRequest { report.lcp.mru = Int(mru) }
        report.lcp.offered = negotiator.offered.map { $0.method?.rawValue ?? $0.description }
        report.lcp.accepted = negotiator.accepted.map(\.rawValue)
        report.lcp.refused = negotiator.refused.map(\.rawValue)
        report.lcp.ourOptionsNakedOrRejected = negotiator.ourRefused.map(\.description)
    }

    private mutating func greFrame(
        _ protocolNumber: PPPProtocolNumber,
        _ packet: ControlPacket,
        now: NIODeadline
    ) -> ByteBuffer? {
        guard let call, var sequencer else { return nil }
        let numbers = sequencer.sequenceNextPacketIgnoringWindow(now: now)
        self.sequencer = sequencer
        let payload = PPPFrame(protocolNumber: protocolNumber, information: ByteBuffer(bytes: packet.bytes))
            .serialized()
        var buffer = ByteBuffer()
        GREPacket(
            header: GREHeader(
                payloadLength: UInt16(payload.readableBytes),
                callID: call.peerCallID,
                sequenceNumber: numbers.sequence,
                acknowledgmentNumber: numbers.acknowledgment
            ),
            payload: payload
        ).write(to: &buffer)
        return buffer
    }

    private mutating func end(_ outcome: String, code: Int32) {
        guard report.outcome.isEmpty else { return }
        report.outcome = outcome
        report.exitCode = code
    }

    /// LCP Terminate, then the call and the control connection.
    private mutating func endProbe(now: NIODeadline) -> [ProbeAction] {
        guard !ending else { return [] }
        ending = true
        greDeadline = nil
        if report.outcome.isEmpty {
            if lcp.negotiator.stoppedAsking, let offered = lcp.negotiator.offered {
                end(
                    "the server asks for \(offered.method?.rawValue ?? offered.description) and stops asking when offered anything else; the probe stops before authenticating",
                    code: 0
                )
            } else {
                end("the server asks for authentication; the probe stops before sending any", code: 0)
            }
        }
        collect()
        report.weaknesses = weaknesses()
        var actions = handleLCP(lcp.handle(.close(reason: Array("probe done".utf8)), now: now), now: now)
        actions += hangUp(now: now)
        return actions
    }

    private mutating func hangUp(now: NIODeadline) -> [ProbeAction] {
        ending = true
        var actions: [ProbeAction] = []
        if control.calls[callID] != nil { actions += perform(control.clearCall(callID, now: now), now: now) }
        actions += perform(control.stop(reason: .none, now: now), now: now)
        return actions
    }

    private func weaknesses() -> [String] {
        var out: [String] = []
        let accepted = lcp.negotiator.accepted
        if accepted.contains(.pap) { out.append("accepts PAP: passwords cross the network in clear text") }
        if accepted.contains(.chapMD5) {
            out.append("accepts CHAP-MD5: the server stores clear-text passwords and CHAP gives no MPPE keys")
        }
        if accepted.contains(.msCHAPv1) { out.append("accepts MS-CHAPv1: its responses are easily cracked") }
        if accepted.contains(.msCHAPv2) {
            out.append(
                "MS-CHAPv2: a captured handshake yields the NT hash with one 2^56 DES search (chapcrack); PPTP itself is obsolete"
            )
        }
        return out
    }
}
