import NIOCore

/// One call on a control connection (RFC 2637 §3.2), its own machine: the control connection
/// routes a message to the call it names and performs what `handle` returns.
public struct Call: Hashable, Sendable {
    public enum State: Hashable, Sendable, CustomStringConvertible {
        /// PNS: OCRQ sent, waiting for OCRP. PAC: ICRQ sent, waiting for ICRP.
        case waitReply
        /// The peer's OCRQ (PAC) or ICRQ (PNS) waits for the layer above to answer.
        case waitAnswer
        /// PNS: ICRP sent, waiting for ICCN.
        case waitConnect
        case established
        /// PNS: Call-Clear-Request sent, waiting for Call-Disconnect-Notify.
        case waitDisconnect

        public var description: String {
            switch self {
            case .waitReply: return "wait_reply"
            case .waitAnswer: return "wait_answer"
            case .waitConnect: return "wait_connect"
            case .established: return "established"
            case .waitDisconnect: return "wait_disconnect"
            }
        }
    }

    public internal(set) var state: State
    /// Our Call ID (0 while an offer waits for an answer; offers are keyed by the peer's ID).
    public internal(set) var callID: UInt16
    public internal(set) var peerCallID: UInt16?
    public let direction: CallDirection
    public internal(set) var peerWindow: UInt16 = 0
    public internal(set) var peerProcessingDelay: UInt16 = 0
    public internal(set) var framing: FramingType = .asynchronous
    public internal(set) var connectSpeed: UInt32 = 0
    /// When a transitional state times out (RFC 2637 §3.2.1).
    public internal(set) var deadline: NIODeadline?
    var offer: CallOffer?

    init(state: State, callID: UInt16, peerCallID: UInt16?, direction: CallDirection, deadline: NIODeadline?) {
        self.state = state
        self.callID = callID
        self.peerCallID = peerCallID
        self.direction = direction
        self.deadline = deadline
    }

    /// The speed we report for a call that does not say (RFC 2637 §2.8: "the actual connection
    /// speed"; a tunnel has none, so the 100 Mbit/s pptpd and Windows report).
    static let defaultConnectSpeed: UInt32 = 100_000_000

    /// What moves a call (RFC 2637 §3.2.3 PAC, §3.2.4 PNS).
    enum Event {
        /// We accept the peer's offer with our Call ID.
        case answered(callID: UInt16)
        case outgoingReply(OutgoingCallReply)
        case incomingReply(IncomingCallReply)
        case incomingConnected(IncomingCallConnected)
        /// The PNS's Call-Clear-Request (we are the PAC).
        case clearRequested
        /// The PAC's Call-Disconnect-Notify (we are the PNS).
        case disconnectNotified(CallDisconnectNotify)
        /// We end the call (PNS: Call-Clear-Request; PAC: Call-Disconnect-Notify with `result`).
        case clear(CallDisconnectResult)
    }

    /// What the call asks of its control connection.
    enum Outcome: Equatable {
        case send(ControlMessage)
        /// The call is up: report `.callConnected`.
        case connected
        /// The call is over: forget it and report `.callCleared`.
        case removed(CallClearReason)
        /// The event does not belong in this state (a violation to report; nothing changes).
        case unexpected
    }

    /// One (state, event) cell of RFC 2637 §3.2, exhaustively.
    mutating func handle(
        _ event: Event,
        role: PPTPRole,
        configuration: ControlConnectionConfiguration,
        now: NIODeadline
    ) -> [Outcome] {
        switch (state, event) {
        // §3.2.3.1 / §3.2.4.1: the layer above accepts an offer.
        case (.waitAnswer, .answered(let callID)):
            self.callID = callID
            guard let offer else { return [.unexpected] }
            self.offer = nil
            switch offer {
            case .outgoing:
                // RFC 2637 §3.2.4.1: a VPN "call" connects at once.
                state = .established
                deadline = nil
                return [
                    .send(
                        .outgoingCallReply(
                            OutgoingCallReply(
                                callID: callID,
                                peerCallID: peerCallID ?? 0,
                                resultCode: .connected,
                                connectSpeed: connectSpeed == 0 ? Self.defaultConnectSpeed : connectSpeed,
                                receiveWindowSize: configuration.receiveWindow,
                                processingDelay: configuration.processingDelay
                            )
                        )
                    ),
                    .connected,
                ]
            case .incoming:
                // §3.2.3.1 (PNS side): ICRP, then wait for Incoming-Call-Connected.
                state = .waitConnect
                deadline = now + configuration.callStateTimeout
                return [
                    .send(
                        .incomingCallReply(
                            IncomingCallReply(
                                callID: callID,
                                peerCallID: peerCallID ?? 0,
                                resultCode: .connect,
                                receiveWindowSize: configuration.receiveWindow,
                                transmitDelay: configuration.processingDelay
                            )
                        )
                    )
                ]
            }
        case (.waitReply, .answered), (.waitConnect, .answered), (.established, .answered),
            (.waitDisconnect, .answered):
            return [.unexpected]

        // §3.2.4.2: the PNS's OCRQ is answered.
        case (.waitReply, .outgoingReply(let reply)) where role == .pns && direction == .outgoing:
            guard reply.resultCode == .connected else {
                return [
                    .removed(
                        .outgoingCallRefused(result: reply.resultCode, error: reply.errorCode, cause: reply.causeCode)
                    )
                ]
            }
            state = .established
            deadline = nil
            peerCallID = reply.callID
            peerWindow = reply.receiveWindowSize
            peerProcessingDelay = reply.processingDelay
            connectSpeed = reply.connectSpeed
            framing = .asynchronous
            return [.connected]
        case (.waitReply, .outgoingReply), (.waitAnswer, .outgoingReply), (.waitConnect, .outgoingReply),
            (.established, .outgoingReply), (.waitDisconnect, .outgoingReply):
            return [.unexpected]

        // §3.2.3.2 (PAC side): our ICRQ is answered; ICCN completes the call.
        case (.waitReply, .incomingReply(let reply)) where role == .pac && direction == .incoming:
            guard reply.resultCode == .connect else {
                return [.removed(.incomingCallRefused(result: reply.resultCode, error: reply.errorCode))]
            }
            state = .established
            deadline = nil
            peerCallID = reply.callID
            peerWindow = reply.receiveWindowSize
            peerProcessingDelay = reply.transmitDelay
            framing = .asynchronous
            connectSpeed = Self.defaultConnectSpeed
            return [
                .send(
                    .incomingCallConnected(
                        IncomingCallConnected(
                            peerCallID: reply.callID,
                            connectSpeed: connectSpeed,
                            receiveWindowSize: configuration.receiveWindow,
                            transmitDelay: configuration.processingDelay,
                            framingType: .asynchronous
                        )
                    )
                ),
                .connected,
            ]
        case (.waitReply, .incomingReply), (.waitAnswer, .incomingReply), (.waitConnect, .incomingReply),
            (.established, .incomingReply), (.waitDisconnect, .incomingReply):
            return [.unexpected]

        // §3.2.3.1 (PNS side): Incoming-Call-Connected after our ICRP.
        case (.waitConnect, .incomingConnected(let connected)):
            state = .established
            deadline = nil
            peerWindow = connected.receiveWindowSize
            peerProcessingDelay = connected.transmitDelay
            framing = connected.framingType
            connectSpeed = connected.connectSpeed
            return [.connected]
        case (.waitReply, .incomingConnected), (.waitAnswer, .incomingConnected), (.established, .incomingConnected),
            (.waitDisconnect, .incomingConnected):
            return [.unexpected]

        // §3.2.3.3 / §3.2.4.1 (PAC): Call-Clear-Request is answered with Call-Disconnect-Notify, result 4.
        case (.established, .clearRequested), (.waitConnect, .clearRequested), (.waitReply, .clearRequested):
            return [
                .send(.callDisconnectNotify(CallDisconnectNotify(callID: callID, resultCode: .request))),
                .removed(.peerRequested),
            ]
        case (.waitAnswer, .clearRequested), (.waitDisconnect, .clearRequested):
            return [.unexpected]

        // §3.2.4.2 (PNS): the PAC's Call-Disconnect-Notify ends the call in any state it has one.
        case (.waitReply, .disconnectNotified(let notify)), (.waitConnect, .disconnectNotified(let notify)),
            (.established, .disconnectNotified(let notify)), (.waitDisconnect, .disconnectNotified(let notify)):
            return [
                .removed(
                    .disconnected(
                        result: notify.resultCode,
                        error: notify.errorCode,
                        cause: notify.causeCode,
                        statistics: notify.callStatistics.printable
                    )
                )
            ]
        case (.waitAnswer, .disconnectNotified):
            return [.unexpected]

        // Ending a call ourselves.
        case (.established, .clear(let result)), (.waitConnect, .clear(let result)):
            switch role {
            case .pns:
                // RFC 2637 §2.12: Call-Clear-Request carries the PNS's own Call ID; wait for the CDN.
                state = .waitDisconnect
                deadline = now + configuration.callStateTimeout
                return [.send(.callClearRequest(CallClearRequest(callID: callID)))]
            case .pac:
                return [
                    .send(.callDisconnectNotify(CallDisconnectNotify(callID: callID, resultCode: result))),
                    .removed(.local),
                ]
            }
        case (.waitReply, .clear(let result)):
            switch role {
            case .pns:
                // Nothing was agreed with the peer yet: just forget it.
                return [.removed(.local)]
            case .pac:
                return [
                    .send(.callDisconnectNotify(CallDisconnectNotify(callID: callID, resultCode: result))),
                    .removed(.local),
                ]
            }
        case (.waitDisconnect, .clear):
            return []  // the Call-Clear-Request is out already
        case (.waitAnswer, .clear):
            return [.removed(.local)]
        }
    }
}

extension CallOffer {
    /// The message that made the offer.
    var messageType: ControlMessageType {
        switch self {
        case .outgoing: return .outgoingCallRequest
        case .incoming: return .incomingCallRequest
        }
    }
}

extension CallInformation {
    init(_ call: Call) {
        self.init(
            callID: call.callID,
            peerCallID: call.peerCallID ?? 0,
            direction: call.direction,
            peerWindow: call.peerWindow,
            peerProcessingDelay: call.peerProcessingDelay,
            framing: call.framing,
            connectSpeed: call.connectSpeed
        )
    }
}

/// The calls of a control connection, indexed by our Call ID and by the peer's (a Call-Clear-Request,
/// a Call-Disconnect-Notify name the sender's), plus the offers waiting for an answer, by the peer's ID.
public struct CallTable: Sendable {
    private var byID: [UInt16: Call] = [:]
    private var idByPeerID: [UInt16: UInt16] = [:]
    /// Offers waiting for the layer above, by the peer's Call ID.
    public private(set) var offers: [UInt16: Call] = [:]

    public init() {}

    /// The call with our Call ID `callID`.
    public subscript(_ callID: UInt16) -> Call? { byID[callID] }

    /// The call the peer knows as `peerCallID`.
    public func call(peerCallID: UInt16) -> Call? { idByPeerID[peerCallID].flatMap { byID[$0] } }

    public var isEmpty: Bool { byID.isEmpty }
    public var count: Int { byID.count }
    /// Our Call IDs, in order.
    public var ids: [UInt16] { byID.keys.sorted() }
    public var all: Dictionary<UInt16, Call>.Values { byID.values }

    /// Whether the peer already has a call or offer with `peerCallID`.
    func knows(peerCallID: UInt16) -> Bool { offers[peerCallID] != nil || idByPeerID[peerCallID] != nil }

    mutating func store(_ call: Call) {
        if let old = byID[call.callID]?.peerCallID, old != call.peerCallID { idByPeerID[old] = nil }
        byID[call.callID] = call
        if let peer = call.peerCallID { idByPeerID[peer] = call.callID }
    }

    @discardableResult
    mutating func remove(_ callID: UInt16) -> Call? {
        guard let call = byID.removeValue(forKey: callID) else { return nil }
        if let peer = call.peerCallID, idByPeerID[peer] == callID { idByPeerID[peer] = nil }
        return call
    }

    mutating func storeOffer(_ call: Call) {
        if let peer = call.peerCallID { offers[peer] = call }
    }

    mutating func takeOffer(peerCallID: UInt16) -> Call? { offers.removeValue(forKey: peerCallID) }

    mutating func removeAllOffers() { offers.removeAll() }

    /// The earliest transitional-state deadline (RFC 2637 §3.2.1) of a call or an offer.
    var nextDeadline: NIODeadline? {
        var next: NIODeadline?
        for call in byID.values { if let d = call.deadline, next.map({ d < $0 }) ?? true { next = d } }
        for call in offers.values { if let d = call.deadline, next.map({ d < $0 }) ?? true { next = d } }
        return next
    }

    /// The lowest Call ID (ours, or the peer's for an offer) whose transition is overdue.
    func overdue(now: NIODeadline) -> UInt16? {
        let calls = byID.values.filter { $0.deadline.map { now >= $0 } ?? false }.map(\.callID)
        let waiting = offers.values.filter { $0.deadline.map { now >= $0 } ?? false }.compactMap(\.peerCallID)
        return (calls + waiting).min()
    }
}
