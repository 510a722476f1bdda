import NIOCore

/// The calls of a control connection (RFC 2637 §3.2): placing, offering, answering and clearing
/// them. Each call's transitions are its own machine (`Call.handle`); this routes events to it and
/// turns its outcomes into the connection's actions.
extension ControlConnection {

    /// PNS: places an outgoing call with our Call ID (RFC 2637 §2.7, §3.2.4.2).
    public mutating func placeOutgoingCall(
        callID: UInt16,
        serialNumber: UInt16,
        phoneNumber: String = "",
        now: NIODeadline
    ) -> [ControlAction] {
        guard state == .established, calls[callID] == nil else { return [] }
        startCall(callID, direction: .outgoing, now: now)
        let request = OutgoingCallRequest(
            callID: callID,
            callSerialNumber: serialNumber,
            receiveWindowSize: configuration.receiveWindow,
            processingDelay: configuration.processingDelay,
            phoneNumber: phoneNumber
        )
        return [.send(.outgoingCallRequest(request))]
    }

    /// A call we place: waiting for the reply (RFC 2637 §3.2.3.2, §3.2.4.2), for at most the call-state time-out.
    private mutating func startCall(_ callID: UInt16, direction: CallDirection, now: NIODeadline) {
        calls.store(
            Call(
                state: .waitReply,
                callID: callID,
                peerCallID: nil,
                direction: direction,
                deadline: now + configuration.callStateTimeout
            )
        )
    }

    /// PAC: signals a dial-in user to the PNS (RFC 2637 §2.9, §3.2.3.1).
    public mutating func placeIncomingCall(
        callID: UInt16,
        serialNumber: UInt16,
        dialedNumber: String = "",
        dialingNumber: String = "",
        now: NIODeadline
    ) -> [ControlAction] {
        guard state == .established, calls[callID] == nil else { return [] }
        startCall(callID, direction: .incoming, now: now)
        let request = IncomingCallRequest(
            callID: callID,
            callSerialNumber: serialNumber,
            dialedNumber: dialedNumber,
            dialingNumber: dialingNumber
        )
        return [.send(.incomingCallRequest(request))]
    }

    mutating func offer(_ offer: CallOffer, now: NIODeadline, into actions: inout [ControlAction]) {
        let peerID = offer.peerCallID
        let expected: PPTPRole = {
            if case .outgoing = offer { return .pac } else { return .pns }
        }()
        guard configuration.role == expected, configuration.acceptsCalls else {
            refuse(offer, error: .none, into: &actions)
            return
        }
        if calls.knows(peerCallID: peerID) {
            actions.append(.violation(.duplicateCall(peerCallID: peerID)))
            refuse(offer, error: .badCallID, into: &actions)
            return
        }
        var call = Call(
            state: .waitAnswer,
            callID: 0,
            peerCallID: peerID,
            direction: expected == .pac ? .outgoing : .incoming,
            deadline: now + configuration.callStateTimeout
        )
        call.offer = offer
        switch offer {
        case .outgoing(let request):
            call.peerWindow = request.receiveWindowSize
            call.peerProcessingDelay = request.processingDelay
            call.framing = request.framingType
            call.connectSpeed = request.maximumBPS
        case .incoming:
            // RFC 2637 §2.9: ICRQ says nothing of the framing; ICCN will (async until then).
            call.framing = .asynchronous
        }
        calls.storeOffer(call)
        actions.append(.callOffered(offer))
    }

    func refuse(_ offer: CallOffer, error: GeneralErrorCode, into actions: inout [ControlAction]) {
        switch offer {
        case .outgoing(let request):
            let result: OutgoingCallResult = error == .none ? .doNotAccept : .generalError
            actions.append(
                .send(
                    .outgoingCallReply(
                        OutgoingCallReply(callID: 0, peerCallID: request.callID, resultCode: result, errorCode: error)
                    )
                )
            )
        case .incoming(let request):
            let result: IncomingCallResult = error == .none ? .doNotAccept : .generalError
            actions.append(
                .send(
                    .incomingCallReply(
                        IncomingCallReply(callID: 0, peerCallID: request.callID, resultCode: result, errorCode: error)
                    )
                )
            )
        }
    }

    /// Answers a `.callOffered`: with a Call ID to accept, nil to refuse (no resources).
    public mutating func answerCall(peerCallID: UInt16, with callID: UInt16?, now: NIODeadline) -> [ControlAction] {
        guard state == .established, let call = calls.takeOffer(peerCallID: peerCallID), let offer = call.offer else {
            return []
        }
        var actions: [ControlAction] = []
        guard let callID, calls[callID] == nil else {
            refuse(offer, error: .noResource, into: &actions)
            return actions
        }
        var answered = call
        let outcomes = answered.handle(
            .answered(callID: callID),
            role: configuration.role,
            configuration: configuration,
            now: now
        )
        // From here on the call is kept under our Call ID.
        perform(outcomes, call: answered, message: offer.messageType, into: &actions)
        return actions
    }

    /// Runs `event` on the call with our Call ID `callID` (a violation when there is none).
    mutating func handle(
        _ event: Call.Event,
        forCall callID: UInt16,
        _ message: ControlMessage,
        now: NIODeadline,
        into actions: inout [ControlAction]
    ) {
        guard var call = calls[callID] else {
            actions.append(.violation(.unknownCall(message.messageType, callID: callID)))
            return
        }
        let outcomes = call.handle(event, role: configuration.role, configuration: configuration, now: now)
        perform(outcomes, call: call, message: message.messageType, into: &actions)
    }

    /// Carries out what a call's machine returned.
    private mutating func perform(
        _ outcomes: [Call.Outcome],
        call: Call,
        message: ControlMessageType,
        into actions: inout [ControlAction]
    ) {
        var removed = false
        for outcome in outcomes {
            switch outcome {
            case .send(let message): actions.append(.send(message))
            case .connected:
                calls.store(call)
                actions.append(.callConnected(CallInformation(call)))
            case .removed(let reason):
                removed = true
                removeCall(call.callID, reason: reason, into: &actions)
            case .unexpected:
                actions.append(.violation(.unknownCall(message, callID: call.callID)))
                return
            }
        }
        if !removed { calls.store(call) }
    }

    /// Clears one of our calls: the PNS sends Call-Clear-Request and waits for the
    /// Call-Disconnect-Notify; the PAC sends Call-Disconnect-Notify and is done.
    public mutating func clearCall(
        _ callID: UInt16,
        result: CallDisconnectResult = .adminShutdown,
        now: NIODeadline
    ) -> [ControlAction] {
        var actions: [ControlAction] = []
        guard state == .established || state == .waitStopReply, var call = calls[callID] else { return actions }
        let outcomes = call.handle(.clear(result), role: configuration.role, configuration: configuration, now: now)
        perform(outcomes, call: call, message: .callClearRequest, into: &actions)
        return actions
    }

    /// PNS: Set-Link-Info with the ACCMs PPP negotiated (RFC 2637 §2.15).
    public mutating func sendLinkInfo(_ callID: UInt16, sendACCM: UInt32, receiveACCM: UInt32) -> [ControlAction] {
        guard state == .established, let call = calls[callID], let peerCallID = call.peerCallID else { return [] }
        return [.send(.setLinkInfo(SetLinkInfo(peerCallID: peerCallID, sendACCM: sendACCM, receiveACCM: receiveACCM)))]
    }

    /// The call a Call-Disconnect-Notify names. RFC 2637 §2.13 says the PAC's Call ID (our peer
    /// Call ID); accel-ppp 1.14 sends ours. Either is taken when it names exactly one call, the
    /// RFC's reading first; the quirk is reported once.
    mutating func callNamedByDisconnect(_ id: UInt16, into actions: inout [ControlAction]) -> Call? {
        if let call = calls.call(peerCallID: id) { return call }
        guard let call = calls[id] else { return nil }
        if reportedQuirks.insert(.disconnectNotifyWithOurCallID(0)).inserted {
            actions.append(.peerQuirk(.disconnectNotifyWithOurCallID(id)))
        }
        return call
    }

    mutating func removeCall(_ callID: UInt16, reason: CallClearReason, into actions: inout [ControlAction]) {
        guard calls.remove(callID) != nil else { return }
        actions.append(.callCleared(callID: callID, reason: reason))
    }
}
