import NIOCore

/// Which end of PPTP this is (RFC 2637 §1.2): the PNS (network server: a VPN client, or a
/// server receiving incoming calls) or the PAC (access concentrator: a VPN server answering
/// outgoing calls, or a relay tunnelling dial-in users).
public enum PPTPRole: Hashable, Sendable, CustomStringConvertible {
    case pns
    case pac

    public var description: String { self == .pns ? "PNS" : "PAC" }
}

/// Settings of a control connection.
public struct ControlConnectionConfiguration: Hashable, Sendable {
    public var role: PPTPRole
    public var hostName: String
    public var vendor: String
    public var firmwareRevision: UInt16
    public var framingCapabilities: FramingCapabilities
    public var bearerCapabilities: BearerCapabilities
    public var maximumChannels: UInt16
    /// Time allowed to receive SCCRQ (receiver) or SCCRP (originator). RFC 2637 §3.1.4: 60 s;
    /// Windows uses 30 s ([MS-PTPT] §3.1.2).
    public var establishTimeout: TimeAmount
    /// Idle time after which we send an Echo-Request (RFC 2637 §3.1.4: 60 s).
    public var echoInterval: TimeAmount
    /// Time to wait for the Echo-Reply before closing (RFC 2637 §3.1.4: 60 s).
    public var echoTimeout: TimeAmount
    /// Time a call may stay in a transitional state (RFC 2637 §3.2.1: 1 minute; then the whole
    /// control connection is closed).
    public var callStateTimeout: TimeAmount
    /// Time to wait for the Stop-Control-Connection-Reply.
    public var stopTimeout: TimeAmount
    /// What we advertise for our calls.
    public var receiveWindow: UInt16
    public var processingDelay: UInt16
    /// Answer OCRQ (PAC) / ICRQ (PNS) at all; when false they are refused.
    public var acceptsCalls: Bool

    public init(
        role: PPTPRole,
        hostName: String = "",
        vendor: String = "swift-pptp",
        firmwareRevision: UInt16 = 1,
        framingCapabilities: FramingCapabilities = [.asynchronous, .synchronous],
        bearerCapabilities: BearerCapabilities = [.analog, .digital],
        maximumChannels: UInt16 = 0,
        establishTimeout: TimeAmount = .seconds(60),
        echoInterval: TimeAmount = .seconds(60),
        echoTimeout: TimeAmount = .seconds(60),
        callStateTimeout: TimeAmount = .seconds(60),
        stopTimeout: TimeAmount = .seconds(10),
        receiveWindow: UInt16 = 64,
        processingDelay: UInt16 = 0,
        acceptsCalls: Bool = true
    ) {
        self.role = role
        self.hostName = hostName
        self.vendor = vendor
        self.firmwareRevision = firmwareRevision
        self.framingCapabilities = framingCapabilities
        self.bearerCapabilities = bearerCapabilities
        self.maximumChannels = maximumChannels
        self.establishTimeout = establishTimeout
        self.echoInterval = echoInterval
        self.echoTimeout = echoTimeout
        self.callStateTimeout = callStateTimeout
        self.stopTimeout = stopTimeout
        self.receiveWindow = receiveWindow
        self.processingDelay = processingDelay
        self.acceptsCalls = acceptsCalls
    }
}

/// What the peer said about itself in SCCRQ/SCCRP.
public struct PeerInformation: Hashable, Sendable {
    public var protocolVersion: UInt16
    public var framingCapabilities: FramingCapabilities
    public var bearerCapabilities: BearerCapabilities
    public var maximumChannels: UInt16
    public var firmwareRevision: UInt16
    public var hostName: String
    public var vendor: String
}

/// Which way a call was placed.
public enum CallDirection: Hashable, Sendable, CustomStringConvertible {
    /// OCRQ/OCRP: voluntary tunnelling (a VPN client's call).
    case outgoing
    /// ICRQ/ICRP/ICCN: compulsory tunnelling (a dial-in user tunnelled by a PAC).
    case incoming

    public var description: String { self == .outgoing ? "outgoing" : "incoming" }
}

/// A connected call.
public struct CallInformation: Hashable, Sendable {
    /// Our Call ID: the peer sends GRE to us with it.
    public var callID: UInt16
    /// The peer's Call ID: we send GRE with it.
    public var peerCallID: UInt16
    public var direction: CallDirection
    /// The peer's receive window (0 or absent: no flow control).
    public var peerWindow: UInt16
    /// The peer's processing delay, 1/10 s (seeds the RTT estimate, RFC 2637 §4.4).
    public var peerProcessingDelay: UInt16
    public var framing: FramingType
    public var connectSpeed: UInt32

    public init(
        callID: UInt16,
        peerCallID: UInt16,
        direction: CallDirection,
        peerWindow: UInt16,
        peerProcessingDelay: UInt16 = 0,
        framing: FramingType = .asynchronous,
        connectSpeed: UInt32 = 0
    ) {
        self.callID = callID
        self.peerCallID = peerCallID
        self.direction = direction
        self.peerWindow = peerWindow
        self.peerProcessingDelay = peerProcessingDelay
        self.framing = framing
        self.connectSpeed = connectSpeed
    }
}

/// A call the peer asks us to take, for the layer above to accept (with a Call ID it allocated)
/// or refuse: `answerCall(peerCallID:with:now:)`.
public enum CallOffer: Hashable, Sendable {
    /// The PNS asks the PAC to place a call (a VPN client connecting).
    case outgoing(OutgoingCallRequest)
    /// The PAC tells the PNS a user dialled in.
    case incoming(IncomingCallRequest)

    public var peerCallID: UInt16 {
        switch self {
        case .outgoing(let request): return request.callID
        case .incoming(let request): return request.callID
        }
    }
}

/// Why a call ended.
public enum CallClearReason: Hashable, Sendable, CustomStringConvertible {
    /// We cleared it (our Call-Clear-Request or Call-Disconnect-Notify).
    case local
    /// The PNS sent Call-Clear-Request (we are the PAC).
    case peerRequested
    /// The PAC sent Call-Disconnect-Notify (we are the PNS), with its codes and statistics.
    case disconnected(result: CallDisconnectResult, error: GeneralErrorCode, cause: UInt16, statistics: String)
    /// The PAC refused our OCRQ.
    case outgoingCallRefused(result: OutgoingCallResult, error: GeneralErrorCode, cause: UInt16)
    /// The PNS refused our ICRQ.
    case incomingCallRefused(result: IncomingCallResult, error: GeneralErrorCode)
    /// We refused the peer's request (no resource, not accepting).
    case refused
    /// The control connection ended under the call.
    case controlConnectionClosed

    public var description: String {
        switch self {
        case .local: return "cleared locally"
        case .peerRequested: return "peer sent Call-Clear-Request"
        case .disconnected(let result, let error, let cause, let statistics):
            var text = "peer sent Call-Disconnect-Notify: \(result)"
            if error != .none { text += ", error \(error)" }
            if cause != 0 { text += ", cause \(cause)" }
            if !statistics.isEmpty { text += " (\(statistics))" }
            return text
        case .outgoingCallRefused(let result, let error, _):
            return "peer refused the call: \(result)" + (error == .none ? "" : ", error \(error)")
        case .incomingCallRefused(let result, let error):
            return "peer refused the incoming call: \(result)" + (error == .none ? "" : ", error \(error)")
        case .refused: return "call refused"
        case .controlConnectionClosed: return "control connection closed"
        }
    }
}

/// Why the control connection closed (the shell closes TCP).
public enum ControlCloseReason: Hashable, Sendable, CustomStringConvertible {
    /// We stopped it and the peer replied (or did not within the stop timeout).
    case localStop(StopControlConnectionReason)
    /// The peer sent Stop-Control-Connection-Request.
    case peerStopped(StopControlConnectionReason)
    /// The peer refused our SCCRQ.
    case peerRefused(StartControlConnectionResult, GeneralErrorCode)
    /// We refused the peer's SCCRQ (unsupported version).
    case unsupportedVersion(UInt16)
    /// No SCCRQ/SCCRP within the establish timeout (RFC 2637 §3.1.4 item 1).
    case establishTimeout
    /// No Echo-Reply within the echo timeout (RFC 2637 §3.1.4 item 2).
    case echoTimeout
    /// A call stayed in a transitional state too long (RFC 2637 §3.2.1).
    case callTimeout(callID: UInt16)
    /// The TCP stream lost its framing (RFC 2637 §1.4).
    case framingLost(PPTPWireError)
    /// The TCP connection went away.
    case transportClosed
    /// We lost an SCCRQ collision (RFC 2637 §3.1.3) on the connection we opened.
    case collisionLost

    public var description: String {
        switch self {
        case .localStop(let reason): return "stopped locally (\(reason))"
        case .peerStopped(let reason): return "peer sent Stop-Control-Connection-Request (\(reason))"
        case .peerRefused(let result, let error):
            return "peer refused the control connection: \(result)" + (error == .none ? "" : ", error \(error)")
        case .unsupportedVersion(let version):
            return "peer speaks PPTP version \(version >> 8).\(version & 0xFF), which we do not support"
        case .establishTimeout: return "no Start-Control-Connection exchange within the time limit"
        case .echoTimeout: return "no Echo-Reply from the peer"
        case .callTimeout(let id): return "call \(id) did not progress within a minute"
        case .framingLost(let error): return "control stream framing lost (\(error))"
        case .transportClosed: return "TCP connection closed"
        case .collisionLost: return "lost the SCCRQ collision"
        }
    }
}

/// A message that was not valid where it arrived: answered as the RFC says and reported.
public enum ControlProtocolViolation: Hashable, Sendable, CustomStringConvertible {
    case unexpectedMessage(ControlMessageType, state: ControlConnectionState)
    case unknownCall(ControlMessageType, callID: UInt16)
    /// A message that was framed but refused (unknown type, wrong length).
    case rejectedMessage(PPTPWireError)
    /// An Echo-Reply that matches no request of ours.
    case unsolicitedEchoReply(UInt32)
    /// A request for a call the peer already has (the same peer Call ID).
    case duplicateCall(peerCallID: UInt16)

    public var description: String {
        switch self {
        case .unexpectedMessage(let type, let state): return "unexpected \(type) in state \(state)"
        case .unknownCall(let type, let id): return "\(type) for unknown call \(id)"
        case .rejectedMessage(let error): return "refused message: \(error)"
        case .unsolicitedEchoReply(let id): return "Echo-Reply \(id) matches no request"
        case .duplicateCall(let id): return "second call request for peer Call ID \(id)"
        }
    }
}

/// A departure from RFC 2637 by a real peer that we accept rather than refuse (be liberal in
/// what you accept), so the shell can say once what the peer did.
public enum PeerQuirk: Hashable, Sendable, CustomStringConvertible {
    /// A Call-Disconnect-Notify carrying our own Call ID instead of the PAC's (RFC 2637 §2.13):
    /// accel-ppp 1.14 answers a Call-Clear-Request that way.
    case disconnectNotifyWithOurCallID(UInt16)

    public var description: String {
        switch self {
        case .disconnectNotifyWithOurCallID(let id):
            return "Call-Disconnect-Notify carries our own Call ID \(id) instead of the peer's (accepted)"
        }
    }
}

/// The states of a control connection (RFC 2637 §3.1.1, §3.1.2).
public enum ControlConnectionState: Hashable, Sendable, CustomStringConvertible {
    case idle
    /// Receiver: TCP accepted, waiting for SCCRQ.
    case waitControlRequest
    /// Originator: SCCRQ sent, waiting for SCCRP.
    case waitControlReply
    case established
    case waitStopReply
    case closed

    public var description: String {
        switch self {
        case .idle: return "idle"
        case .waitControlRequest: return "wait_ctl_request"
        case .waitControlReply: return "wait_ctl_reply"
        case .established: return "established"
        case .waitStopReply: return "wait_stop_reply"
        case .closed: return "closed"
        }
    }
}

/// What the control connection asks of the layer above.
public enum ControlAction: Hashable, Sendable {
    case send(ControlMessage)
    /// SCCRQ/SCCRP exchanged.
    case established(PeerInformation)
    /// The peer asks us to take a call: answer with `answerCall`.
    case callOffered(CallOffer)
    case callConnected(CallInformation)
    /// A call is gone; its Call ID may be freed.
    case callCleared(callID: UInt16, reason: CallClearReason)
    /// Set-Link-Info for a call (the ACCMs PPP negotiated; tell the PPP layer).
    case linkInfo(callID: UInt16, sendACCM: UInt32, receiveACCM: UInt32)
    /// WAN-Error-Notify for a call.
    case wanError(callID: UInt16, WANErrorNotify)
    /// A message refused or ignored, for the log and counters.
    case violation(ControlProtocolViolation)
    /// A real peer's departure from RFC 2637 that we accept; reported once per control connection.
    case peerQuirk(PeerQuirk)
    /// Close the TCP connection. Every call has been reported cleared before this.
    case close(ControlCloseReason)
}
