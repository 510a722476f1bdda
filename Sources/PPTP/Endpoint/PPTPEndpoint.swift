import NIOCore
import PPP

/// The top sans-I/O engine of one PPTP control connection (DESIGN.md "The endpoint", after
/// quinn-proto's `Endpoint`): the `ControlConnection`, and the lifecycle that ties each call to its
/// tunnel — which comes first when a call connects, the RFC 2637 §2.13 result when PPP ends, "stop
/// when the last call goes", the deadlines for a connection that places no call, a call that does
/// not authenticate, GRE that never comes and a Call-Disconnect-Notify that never comes.
///
/// The server, the client and the relay are thin shells over it: they write `.send` bytes to TCP,
/// run `.startTunnel` in their data plane, and decide the `.offered` calls with their own policy
/// (limits, Call IDs). One `nextDeadline` covers every timer.
public struct PPTPEndpoint: Sendable {
    public struct Configuration: Sendable {
        public var control: ControlConnectionConfiguration
        /// PAC: close a connection that has placed no call this long after it was established (the
        /// handshake time-out; DESIGN.md "Server").
        public var noCallTimeout: TimeAmount?
        /// PAC: clear a call that has not authenticated this long after it connected (issue 22 item 10).
        public var authenticationTimeout: TimeAmount?
        /// PNS: say "GRE blocked" when no GRE came this long after the call connected.
        public var greTimeout: TimeAmount?
        /// PNS: how long a hang-up waits for the Call-Disconnect-Notify before it stops the control
        /// connection anyway.
        public var disconnectWait: TimeAmount

        public init(
            control: ControlConnectionConfiguration,
            noCallTimeout: TimeAmount? = nil,
            authenticationTimeout: TimeAmount? = nil,
            greTimeout: TimeAmount? = nil,
            disconnectWait: TimeAmount = .seconds(2)
        ) {
            self.control = control
            self.noCallTimeout = noCallTimeout
            self.authenticationTimeout = authenticationTimeout
            self.greTimeout = greTimeout
            self.disconnectWait = disconnectWait
        }
    }

    /// What the endpoint asks of its shell.
    public enum Command: Hashable, Sendable {
        /// Write this control message to TCP.
        case send(ControlMessage)
        /// SCCRQ/SCCRP exchanged.
        case established(PeerInformation)
        /// The peer asks for a call: decide with the shell's policy, then `answer`.
        case offered(CallOffer)
        /// A call connected: run its tunnel now (before the reply that lets the peer's GRE come).
        case startTunnel(CallInformation)
        /// A call is gone; `started` says whether its tunnel ran (else only its Call ID is to free).
        case callEnded(callID: UInt16, reason: CallClearReason, started: Bool)
        /// Close the tunnel of a call politely (LCP Terminate) for this reason.
        case closeTunnel(callID: UInt16, LocalCloseReason)
        /// Something to log.
        case report(EndpointReport)
        /// Close the TCP connection.
        case close(ControlCloseReason)
    }

    public let configuration: Configuration
    public private(set) var control: ControlConnection

    /// A call's lifecycle beyond RFC 2637 §3.2: its tunnel and what the shell told of it.
    public struct Session: Hashable, Sendable {
        public var connectedAt: NIODeadline
        public var started = false
        public var authenticated = false
        public var greArrived = false
        /// PPP ended (the tunnel is still being removed).
        public var down: PPPDownReason?
        var authenticationExpired = false
        var greReported = false
    }

    /// Calls by our Call ID, from the answer to their end.
    public private(set) var sessions: [UInt16: Session] = [:]
    private var noCallDeadline: NIODeadline?
    private var disconnectDeadline: NIODeadline?
    private var everHadCall = false
    /// PNS: the call to place once established.
    private var plannedCall: (callID: UInt16, serialNumber: UInt16)?
    public private(set) var closing = false

    public init(configuration: Configuration, echoIdentifierSeed: UInt32 = 1, winsCollision: Bool = true) {
        self.configuration = configuration
        self.control = ControlConnection(
            configuration: configuration.control,
            winsCollision: winsCollision,
            echoIdentifierSeed: echoIdentifierSeed
        )
    }

    public var isEstablished: Bool { control.isEstablished }

    /// The earliest time `timeout` has work: the control connection's timers, and the lifecycle's.
    public var nextDeadline: NIODeadline? {
        var next = control.nextDeadline
        func consider(_ deadline: NIODeadline?) {
            if let deadline, next.map({ deadline < $0 }) ?? true { next = deadline }
        }
        consider(noCallDeadline)
        consider(disconnectDeadline)
        for (_, session) in sessions {
            if let timeout = configuration.authenticationTimeout, session.started, !session.authenticated,
                !session.authenticationExpired, session.down == nil
            {
                consider(session.connectedAt + timeout)
            }
            if let timeout = configuration.greTimeout, session.started, !session.greArrived, !session.greReported,
                session.down == nil
            {
                consider(session.connectedAt + timeout)
            }
        }
        return next
    }

    // MARK: - Opening

    /// PAC: we accepted the TCP connection.
    public mutating func accepted(now: NIODeadline) -> [Command] {
        translate(control.accepted(now: now), now: now)
    }

    /// PNS: we opened the TCP connection; once established, an outgoing call is placed with this
    /// Call ID (RFC 2637 §3.1.1, §3.2.4.2).
    public mutating func connect(placingCall callID: UInt16, serialNumber: UInt16 = 1, now: NIODeadline) -> [Command] {
        plannedCall = (callID, serialNumber)
        return translate(control.connect(now: now), now: now)
    }

    // MARK: - Input

    public mutating func receive(bytes: ByteBuffer, now: NIODeadline) -> [Command] {
        translate(control.receive(bytes: bytes, now: now), now: now)
    }

    public mutating func receive(bytes: [UInt8], now: NIODeadline) -> [Command] {
        translate(control.receive(bytes: bytes, now: now), now: now)
    }

    public mutating func transportClosed(now: NIODeadline) -> [Command] {
        translate(control.transportClosed(), now: now)
    }

    /// The shell's answer to `.offered`: our Call ID to accept, nil to refuse.
    public mutating func answer(_ offer: CallOffer, with callID: UInt16?, now: NIODeadline) -> [Command] {
        if callID != nil { everHadCall = true }
        return translate(control.answerCall(peerCallID: offer.peerCallID, with: callID, now: now), now: now)
    }

    // MARK: - What the tunnels say

    /// The call's peer authenticated (server).
    public mutating func sessionAuthenticated(_ callID: UInt16) {
        sessions[callID]?.authenticated = true
    }

    /// The first GRE packet of the call arrived (client).
    public mutating func greArrived(_ callID: UInt16) {
        sessions[callID]?.greArrived = true
    }

    /// PPP of the call ended: clear the call with the RFC 2637 §2.13 result that says why.
    public mutating func sessionDown(_ callID: UInt16, reason: PPPDownReason, now: NIODeadline) -> [Command] {
        sessions[callID]?.down = reason
        guard control.calls[callID] != nil else {
            // The call went first (Call-Disconnect-Notify): only the tunnel is left.
            return sessions[callID] == nil ? [] : [.callEnded(callID: callID, reason: .local, started: true)]
        }
        return translate(control.clearCall(callID, result: Self.result(for: reason), now: now), now: now)
    }

    /// The tunnel of the call is gone (the data plane confirmed). The last call gone, the
    /// connection is stopped, as Windows and pptpd do.
    public mutating func sessionRemoved(_ callID: UInt16, now: NIODeadline) -> [Command] {
        sessions[callID] = nil
        return stopIfIdle(now: now)
    }

    /// Stops the control connection when it has had calls and has none left.
    private mutating func stopIfIdle(now: NIODeadline) -> [Command] {
        guard everHadCall, sessions.isEmpty, control.calls.isEmpty, !closing, control.isEstablished else { return [] }
        return translate(control.stop(reason: .none, now: now), now: now)
    }

    /// PNS: the user hangs up: Call-Clear-Request alone, and the control connection is stopped once
    /// the Call-Disconnect-Notify clears the call, or after `disconnectWait` (RFC 2637 §3.2.4.2).
    /// Sent at once, the Stop-Control-Connection-Request would share the Call-Clear-Request's TCP
    /// segment, and accel-ppp 1.14 reads only the first message of a segment until more bytes come.
    public mutating func hangUp(now: NIODeadline) -> [Command] {
        var commands: [Command] = []
        for callID in control.calls.ids {
            commands += translate(control.clearCall(callID, now: now), now: now)
        }
        if control.calls.all.contains(where: { $0.state == .waitDisconnect }) {
            disconnectDeadline = now + configuration.disconnectWait
            return commands
        }
        return commands + translate(control.stop(reason: .none, now: now), now: now)
    }

    /// Stops the control connection (Stop-Control-Connection-Request; every call reported ended).
    public mutating func stop(now: NIODeadline) -> [Command] {
        translate(control.stop(reason: .none, now: now), now: now)
    }

    // MARK: - Timers

    public mutating func timeout(now: NIODeadline) -> [Command] {
        var commands: [Command] = []
        if let deadline = noCallDeadline, now >= deadline {
            noCallDeadline = nil
            if !everHadCall, control.isEstablished, let timeout = configuration.noCallTimeout {
                commands.append(.report(.noCallWithin(timeout)))
                commands += translate(control.stop(reason: .none, now: now), now: now)
                return commands
            }
        }
        if let deadline = disconnectDeadline, now >= deadline {
            disconnectDeadline = nil
            if control.isEstablished { commands += translate(control.stop(reason: .none, now: now), now: now) }
        }
        for callID in sessions.keys.sorted() {
            guard let session = sessions[callID], session.started, session.down == nil else { continue }
            if let timeout = configuration.authenticationTimeout, !session.authenticated,
                !session.authenticationExpired, now >= session.connectedAt + timeout
            {
                sessions[callID]?.authenticationExpired = true
                commands.append(.report(.notAuthenticatedWithin(callID: callID, timeout)))
                commands.append(.closeTunnel(callID: callID, .authenticationTimeout))
            }
            if let timeout = configuration.greTimeout, !session.greArrived, !session.greReported,
                now >= session.connectedAt + timeout
            {
                sessions[callID]?.greReported = true
                commands.append(.report(.noGREWithin(callID: callID, timeout)))
            }
        }
        if let deadline = control.nextDeadline, now >= deadline {
            commands += translate(control.timeout(now: now), now: now)
        }
        return commands
    }

    // MARK: - The control connection's actions

    /// Turns the control connection's actions into commands, in the order a shell must carry them
    /// out: a call's tunnel starts before the reply that connects it goes out, so that the peer's
    /// first GRE packet finds it.
    private mutating func translate(_ actions: [ControlAction], now: NIODeadline) -> [Command] {
        var commands: [Command] = []
        var started: [Command] = []
        for action in actions {
            switch action {
            case .send(let message): commands.append(.send(message))
            case .established(let peer):
                commands.append(.established(peer))
                if configuration.control.role == .pac, let timeout = configuration.noCallTimeout {
                    noCallDeadline = now + timeout
                }
                if let (callID, serialNumber) = plannedCall {
                    plannedCall = nil
                    everHadCall = true
                    commands += translate(
                        control.placeOutgoingCall(callID: callID, serialNumber: serialNumber, now: now),
                        now: now
                    )
                }
            case .callOffered(let offer):
                commands.append(.offered(offer))
            case .callConnected(let info):
                sessions[info.callID] = Session(connectedAt: now, started: true)
                started.append(.startTunnel(info))
            case .callCleared(let callID, let reason):
                let wasStarted = sessions[callID]?.started ?? false
                commands.append(.callEnded(callID: callID, reason: reason, started: wasStarted))
                if wasStarted {
                    // The tunnel goes first; `sessionRemoved` then stops the connection.
                    if control.calls.isEmpty { disconnectDeadline = nil }
                } else {
                    sessions[callID] = nil
                    commands += stopIfIdle(now: now)
                }
            case .linkInfo(let callID, let send, let receive):
                commands.append(.report(.linkInfo(callID: callID, sendACCM: send, receiveACCM: receive)))
            case .wanError(let callID, let notify):
                commands.append(.report(.wanError(callID: callID, notify)))
            case .violation(let violation):
                commands.append(.report(.violation(violation)))
            case .peerQuirk(let quirk):
                commands.append(.report(.peerQuirk(quirk)))
            case .close(let reason):
                closing = true
                noCallDeadline = nil
                disconnectDeadline = nil
                commands.append(.close(reason))
            }
        }
        return started + commands
    }

    /// RFC 2637 §2.13 Result Code for a call whose PPP ended: the peer hung up (request), the link
    /// died (lost carrier), or we ended it (administrative shutdown).
    static func result(for reason: PPPDownReason) -> CallDisconnectResult {
        switch reason {
        case .peerTerminated: return .request
        case .echoTimeout, .lowerLayerDown: return .lostCarrier
        case .localClose, .negotiationFailed, .authenticationFailed, .encryptionNeedsMSCHAP, .handshakeTimeout:
            return .adminShutdown
        }
    }
}

/// What an endpoint tells its shell's log.
public enum EndpointReport: Hashable, Sendable, CustomStringConvertible {
    case noCallWithin(TimeAmount)
    case notAuthenticatedWithin(callID: UInt16, TimeAmount)
    case noGREWithin(callID: UInt16, TimeAmount)
    case linkInfo(callID: UInt16, sendACCM: UInt32, receiveACCM: UInt32)
    case wanError(callID: UInt16, WANErrorNotify)
    case violation(ControlProtocolViolation)
    case peerQuirk(PeerQuirk)

    public var description: String {
        func seconds(_ time: TimeAmount) -> Int64 { time.nanoseconds / 1_000_000_000 }
        switch self {
        case .noCallWithin(let time): return "no call within \(seconds(time)) s"
        case .notAuthenticatedWithin(let callID, let time):
            return "call \(callID) not authenticated within \(seconds(time)) s"
        case .noGREWithin(let callID, let time):
            return "no GRE for call \(callID) \(seconds(time)) s after it connected"
        case .linkInfo(let callID, let send, let receive):
            return
                "Set-Link-Info for call \(callID): send ACCM 0x\(String(send, radix: 16)), receive ACCM 0x\(String(receive, radix: 16))"
        case .wanError(let callID, let notify):
            return
                "WAN-Error-Notify for call \(callID): \(notify.crcErrors) CRC, \(notify.framingErrors) framing errors"
        case .violation(let violation): return "control protocol: \(violation)"
        case .peerQuirk(let quirk): return "peer quirk: \(quirk)"
        }
    }
}
