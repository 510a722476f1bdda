import NIOCore

/// The PPTP control connection and its calls (RFC 2637 §3), for either role, as a sans-I/O
/// engine: fed with TCP bytes and `now`, it returns messages to send, events and the next
/// deadline. The shell owns the TCP connection and the Call ID allocator.
public struct ControlConnection: Sendable {
    public let configuration: ControlConnectionConfiguration
    public private(set) var state: ControlConnectionState = .idle
    /// What the peer told us in SCCRQ/SCCRP.
    public private(set) var peer: PeerInformation?
    /// Why the connection closed, once it has.
    public private(set) var closeReason: ControlCloseReason?

    /// The calls, by both Call IDs, and the offers waiting for an answer (RFC 2637 §3.2; each
    /// call its own machine, `Call`).
    public internal(set) var calls = CallTable()

    private var decoder = ControlStreamDecoder()
    private var establishDeadline: NIODeadline?
    private var idleDeadline: NIODeadline?
    private var echoDeadline: NIODeadline?
    private var stopDeadline: NIODeadline?
    private var outstandingEcho: UInt32?
    private var echoIdentifier: UInt32
    private var stopReason: StopControlConnectionReason = .none
    /// Quirks reported so far (each kind once per connection; payloads zeroed).
    var reportedQuirks: Set<PeerQuirk> = []
    /// Whether we win an SCCRQ collision (RFC 2637 §3.1.3: the higher IP address wins).
    public let winsCollision: Bool

    /// - Parameters:
    ///   - winsCollision: whether our address is the higher (see `ControlConnection.wins`).
    ///   - echoIdentifierSeed: the first Echo-Request identifier (from the injected randomness).
    public init(
        configuration: ControlConnectionConfiguration,
        winsCollision: Bool = true,
        echoIdentifierSeed: UInt32 = 1
    ) {
        self.configuration = configuration
        self.winsCollision = winsCollision
        self.echoIdentifier = echoIdentifierSeed
    }

    /// RFC 2637 §3.1.3: "The 'winner' of the initiation race is the peer with the higher IP
    /// address (compared as 32 bit unsigned values)".
    public static func wins(localAddress: UInt32, peerAddress: UInt32) -> Bool { localAddress > peerAddress }

    /// The earliest time `timeout(now:)` has work.
    public var nextDeadline: NIODeadline? {
        var next = calls.nextDeadline
        for deadline in [establishDeadline, idleDeadline, echoDeadline, stopDeadline] {
            if let deadline, next.map({ deadline < $0 }) ?? true { next = deadline }
        }
        return next
    }

    public var isEstablished: Bool { state == .established }

    // MARK: - Opening

    /// We opened the TCP connection: send SCCRQ (RFC 2637 §3.1.1 idle → wait_ctl_reply).
    public mutating func connect(now: NIODeadline) -> [ControlAction] {
        guard state == .idle else { return [] }
        state = .waitControlReply
        establishDeadline = now + configuration.establishTimeout
        let request = StartControlConnectionRequest(
            protocolVersion: 0x0100,
            framingCapabilities: configuration.framingCapabilities,
            bearerCapabilities: configuration.bearerCapabilities,
            maximumChannels: configuration.maximumChannels,
            firmwareRevision: configuration.firmwareRevision,
            hostName: configuration.hostName,
            vendor: configuration.vendor
        )
        return [.send(.startControlConnectionRequest(request))]
    }

    /// We accepted a TCP connection: wait for SCCRQ (RFC 2637 §3.1.2).
    public mutating func accepted(now: NIODeadline) -> [ControlAction] {
        guard state == .idle else { return [] }
        state = .waitControlRequest
        establishDeadline = now + configuration.establishTimeout
        return []
    }

    // MARK: - Input

    /// Bytes from TCP.
    public mutating func receive(bytes: ByteBuffer, now: NIODeadline) -> [ControlAction] {
        guard state != .closed else { return [] }
        decoder.append(bytes)
        return drain(now: now)
    }

    /// Bytes from TCP.
    public mutating func receive(bytes: [UInt8], now: NIODeadline) -> [ControlAction] {
        guard state != .closed else { return [] }
        decoder.append(bytes)
        return drain(now: now)
    }

    private mutating func drain(now: NIODeadline) -> [ControlAction] {
        var actions: [ControlAction] = []
        while state != .closed {
            let output: ControlStreamDecoder.Output?
            do {
                output = try decoder.next()
            } catch {
                // RFC 2637 §1.4: loss of synchronisation closes the connection at once.
                close(.framingLost(error), into: &actions)
                break
            }
            guard let output else { break }
            switch output {
            case .message(let message): actions += receive(message, now: now)
            case .rejected(let error): actions.append(.violation(.rejectedMessage(error)))
            }
        }
        return actions
    }

    /// One decoded message (tests feed messages directly).
    public mutating func receive(_ message: ControlMessage, now: NIODeadline) -> [ControlAction] {
        var actions: [ControlAction] = []
        guard state != .closed else { return actions }
        if state == .established || state == .waitStopReply {
            // RFC 2637 §3.1.4: any control message proves the peer alive.
            idleDeadline = now + configuration.echoInterval
        }
        switch (state, message) {
        // MARK: Establishment
        case (.waitControlRequest, .startControlConnectionRequest(let request)):
            acceptStart(request, now: now, into: &actions)
        case (.waitControlReply, .startControlConnectionRequest(let request)):
            // RFC 2637 §3.1.3 collision: the loser answers the winner's request.
            if winsCollision {
                actions.append(.violation(.unexpectedMessage(message.messageType, state: state)))
            } else {
                acceptStart(request, now: now, into: &actions)
            }
        case (.waitControlReply, .startControlConnectionReply(let reply)):
            guard reply.resultCode == .success else {
                close(.peerRefused(reply.resultCode, reply.errorCode), into: &actions)
                break
            }
            guard reply.protocolVersion >= 0x0100 else {
                // RFC 2637 §3.1.1: an earlier, unsupported version: Stop-Control-Connection.
                stop(reason: .stopProtocol, now: now, into: &actions)
                break
            }
            established(peer: PeerInformation(reply: reply), now: now, into: &actions)

        // MARK: Keep-alive (RFC 2637 §2.5, §2.6)
        case (.established, .echoRequest(let request)), (.waitStopReply, .echoRequest(let request)):
            actions.append(.send(.echoReply(EchoReply(identifier: request.identifier))))
        case (.waitControlRequest, .echoRequest(let request)), (.waitControlReply, .echoRequest(let request)):
            // RFC 2637 §2.6 / §2.16 error 1: not connected.
            actions.append(
                .send(
                    .echoReply(
                        EchoReply(identifier: request.identifier, resultCode: .generalError, errorCode: .notConnected)
                    )
                )
            )
        case (.established, .echoReply(let reply)), (.waitStopReply, .echoReply(let reply)):
            if reply.identifier == outstandingEcho {
                outstandingEcho = nil
                echoDeadline = nil
            } else {
                actions.append(.violation(.unsolicitedEchoReply(reply.identifier)))
            }

        // MARK: Stop (RFC 2637 §2.3, §2.4)
        case (.established, .stopControlConnectionRequest(let request)),
            (.waitStopReply, .stopControlConnectionRequest(let request)),
            (.waitControlReply, .stopControlConnectionRequest(let request)),
            (.waitControlRequest, .stopControlConnectionRequest(let request)):
            actions.append(.send(.stopControlConnectionReply(StopControlConnectionReply())))
            close(.peerStopped(request.reason), into: &actions)
        case (.waitStopReply, .stopControlConnectionReply):
            close(.localStop(stopReason), into: &actions)

        // MARK: Calls
        case (.established, .outgoingCallRequest(let request)):
            offer(.outgoing(request), now: now, into: &actions)
        case (.established, .incomingCallRequest(let request)):
            offer(.incoming(request), now: now, into: &actions)
        case (.established, .outgoingCallReply(let reply)):
            // RFC 2637 §2.8: "Peer's Call ID" is our own.
            handle(.outgoingReply(reply), forCall: reply.peerCallID, message, now: now, into: &actions)
        case (.established, .incomingCallReply(let reply)):
            handle(.incomingReply(reply), forCall: reply.peerCallID, message, now: now, into: &actions)
        case (.established, .incomingCallConnected(let connected)):
            // RFC 2637 §2.10: "Peer's Call ID" is the PNS's own Call ID.
            handle(.incomingConnected(connected), forCall: connected.peerCallID, message, now: now, into: &actions)
        case (.established, .callClearRequest(let request)):
            // RFC 2637 §2.12: the Call ID is the PNS's (our peer Call ID).
            guard configuration.role == .pac, let call = calls.call(peerCallID: request.callID) else {
                actions.append(.violation(.unknownCall(message.messageType, callID: request.callID)))
                break
            }
            handle(.clearRequested, forCall: call.callID, message, now: now, into: &actions)
        case (.established, .callDisconnectNotify(let notify)), (.waitStopReply, .callDisconnectNotify(let notify)):
            // RFC 2637 §2.13: the Call ID is the PAC's (our peer Call ID). Windows sends result 0.
            guard configuration.role == .pns, let call = callNamedByDisconnect(notify.callID, into: &actions) else {
                actions.append(.violation(.unknownCall(message.messageType, callID: notify.callID)))
                break
            }
            handle(.disconnectNotified(notify), forCall: call.callID, message, now: now, into: &actions)
        case (.established, .wanErrorNotify(let notify)):
            // RFC 2637 §2.14: "Peer's Call ID" is the PNS's own Call ID.
            guard calls[notify.peerCallID] != nil else {
                actions.append(.violation(.unknownCall(message.messageType, callID: notify.peerCallID)))
                break
            }
            actions.append(.wanError(callID: notify.peerCallID, notify))
        case (.established, .setLinkInfo(let info)):
            // RFC 2637 §2.15: "Peer's Call ID" is the PAC's own Call ID. Windows and pptp-linux
            // send it before and after LCP; it is always accepted ([MS-PTPT] §3.3.5.5).
            guard calls[info.peerCallID] != nil else {
                actions.append(.violation(.unknownCall(message.messageType, callID: info.peerCallID)))
                break
            }
            actions.append(.linkInfo(callID: info.peerCallID, sendACCM: info.sendACCM, receiveACCM: info.receiveACCM))

        // MARK: Requests before establishment: answered with "not connected"
        case (.waitControlRequest, .outgoingCallRequest(let request)),
            (.waitControlReply, .outgoingCallRequest(let request)):
            refuse(.outgoing(request), error: .notConnected, into: &actions)
            actions.append(.violation(.unexpectedMessage(message.messageType, state: state)))
        case (.waitControlRequest, .incomingCallRequest(let request)),
            (.waitControlReply, .incomingCallRequest(let request)):
            refuse(.incoming(request), error: .notConnected, into: &actions)
            actions.append(.violation(.unexpectedMessage(message.messageType, state: state)))

        // MARK: Everything else is out of place: reported, otherwise ignored
        case (.idle, _), (.closed, _),
            (.waitControlRequest, .startControlConnectionReply), (.waitControlRequest, .stopControlConnectionReply),
            (.waitControlRequest, .echoReply), (.waitControlRequest, .outgoingCallReply),
            (.waitControlRequest, .incomingCallReply),
            (.waitControlRequest, .incomingCallConnected), (.waitControlRequest, .callClearRequest),
            (.waitControlRequest, .callDisconnectNotify), (.waitControlRequest, .wanErrorNotify),
            (.waitControlRequest, .setLinkInfo),
            (.waitControlReply, .stopControlConnectionReply), (.waitControlReply, .echoReply),
            (.waitControlReply, .outgoingCallReply),
            (.waitControlReply, .incomingCallReply), (.waitControlReply, .incomingCallConnected),
            (.waitControlReply, .callClearRequest),
            (.waitControlReply, .callDisconnectNotify), (.waitControlReply, .wanErrorNotify),
            (.waitControlReply, .setLinkInfo),
            (.established, .startControlConnectionRequest), (.established, .startControlConnectionReply),
            (.established, .stopControlConnectionReply),
            (.waitStopReply, .startControlConnectionRequest), (.waitStopReply, .startControlConnectionReply),
            (.waitStopReply, .outgoingCallRequest), (.waitStopReply, .outgoingCallReply),
            (.waitStopReply, .incomingCallRequest),
            (.waitStopReply, .incomingCallReply), (.waitStopReply, .incomingCallConnected),
            (.waitStopReply, .callClearRequest),
            (.waitStopReply, .wanErrorNotify), (.waitStopReply, .setLinkInfo):
            actions.append(.violation(.unexpectedMessage(message.messageType, state: state)))
        }
        return actions
    }

    private mutating func acceptStart(
        _ request: StartControlConnectionRequest,
        now: NIODeadline,
        into actions: inout [ControlAction]
    ) {
        // RFC 2637 §3.1.2: an earlier version we cannot support is answered with an error and
        // the TCP connection closed; a later one is answered with our version.
        guard request.protocolVersion >= 0x0100 else {
            var reply = startReply(result: .unsupportedVersion)
            reply.errorCode = .none
            actions.append(.send(.startControlConnectionReply(reply)))
            close(.unsupportedVersion(request.protocolVersion), into: &actions)
            return
        }
        actions.append(.send(.startControlConnectionReply(startReply(result: .success))))
        established(peer: PeerInformation(request: request), now: now, into: &actions)
    }

    private func startReply(result: StartControlConnectionResult) -> StartControlConnectionReply {
        StartControlConnectionReply(
            protocolVersion: 0x0100,
            resultCode: result,
            errorCode: .none,
            framingCapabilities: configuration.framingCapabilities,
            bearerCapabilities: configuration.bearerCapabilities,
            maximumChannels: configuration.maximumChannels,
            firmwareRevision: configuration.firmwareRevision,
            hostName: configuration.hostName,
            vendor: configuration.vendor
        )
    }

    private mutating func established(peer: PeerInformation, now: NIODeadline, into actions: inout [ControlAction]) {
        state = .established
        self.peer = peer
        establishDeadline = nil
        idleDeadline = now + configuration.echoInterval
        actions.append(.established(peer))
    }

    // MARK: - Stopping

    /// Stops the control connection (RFC 2637 §2.3): every call is reported cleared, then
    /// Stop-Control-Connection-Request is sent.
    public mutating func stop(reason: StopControlConnectionReason = .none, now: NIODeadline) -> [ControlAction] {
        var actions: [ControlAction] = []
        stop(reason: reason, now: now, into: &actions)
        return actions
    }

    private mutating func stop(
        reason: StopControlConnectionReason,
        now: NIODeadline,
        into actions: inout [ControlAction]
    ) {
        switch state {
        case .established, .waitControlReply:
            clearAllCalls(into: &actions)
            stopReason = reason
            state = .waitStopReply
            establishDeadline = nil
            idleDeadline = nil
            echoDeadline = nil
            stopDeadline = now + configuration.stopTimeout
            actions.append(.send(.stopControlConnectionRequest(StopControlConnectionRequest(reason: reason))))
        case .idle, .waitControlRequest:
            close(.localStop(reason), into: &actions)
        case .waitStopReply, .closed:
            break
        }
    }

    /// The TCP connection closed under us.
    public mutating func transportClosed() -> [ControlAction] {
        var actions: [ControlAction] = []
        if state != .closed { close(closeReason ?? .transportClosed, into: &actions, emitClose: false) }
        return actions
    }

    private mutating func clearAllCalls(into actions: inout [ControlAction]) {
        for id in calls.ids { removeCall(id, reason: .controlConnectionClosed, into: &actions) }
        calls.removeAllOffers()
    }

    private mutating func close(
        _ reason: ControlCloseReason,
        into actions: inout [ControlAction],
        emitClose: Bool = true
    ) {
        guard state != .closed else { return }
        clearAllCalls(into: &actions)
        state = .closed
        closeReason = reason
        establishDeadline = nil
        idleDeadline = nil
        echoDeadline = nil
        stopDeadline = nil
        if emitClose { actions.append(.close(reason)) }
    }

    // MARK: - Timers

    public mutating func timeout(now: NIODeadline) -> [ControlAction] {
        var actions: [ControlAction] = []
        if let deadline = establishDeadline, now >= deadline {
            close(.establishTimeout, into: &actions)
            return actions
        }
        if let deadline = stopDeadline, now >= deadline {
            close(.localStop(stopReason), into: &actions)
            return actions
        }
        if let deadline = echoDeadline, now >= deadline {
            // RFC 2637 §3.1.4 item 2: no Echo-Reply within 60 s closes the connection.
            close(.echoTimeout, into: &actions)
            return actions
        }
        if let deadline = idleDeadline, now >= deadline, state == .established {
            if outstandingEcho == nil {
                echoIdentifier &+= 1
                outstandingEcho = echoIdentifier
                echoDeadline = now + configuration.echoTimeout
                actions.append(.send(.echoRequest(EchoRequest(identifier: echoIdentifier))))
            }
            idleDeadline = now + configuration.echoInterval
        }
        // RFC 2637 §3.2.1: a call stuck in a transition closes the whole connection.
        if let stuck = calls.overdue(now: now) {
            close(.callTimeout(callID: stuck), into: &actions)
        }
        return actions
    }
}

extension PeerInformation {
    init(request: StartControlConnectionRequest) {
        self.init(
            protocolVersion: request.protocolVersion,
            framingCapabilities: request.framingCapabilities,
            bearerCapabilities: request.bearerCapabilities,
            maximumChannels: request.maximumChannels,
            firmwareRevision: request.firmwareRevision,
            hostName: request.hostName.printable,
            vendor: request.vendor.printable
        )
    }

    init(reply: StartControlConnectionReply) {
        self.init(
            protocolVersion: reply.protocolVersion,
            framingCapabilities: reply.framingCapabilities,
            bearerCapabilities: reply.bearerCapabilities,
            maximumChannels: reply.maximumChannels,
            firmwareRevision: reply.firmwareRevision,
            hostName: reply.hostName.printable,
            vendor: reply.vendor.printable
        )
    }
}
