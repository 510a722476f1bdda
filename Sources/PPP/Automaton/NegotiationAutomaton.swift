import NIOCore

/// Timer and counter settings of the automaton (RFC 1661 §4.6).
public struct AutomatonConfiguration: Hashable, Sendable {
    /// Restart timer; RFC 1661 §4.6: "The default value SHOULD be three seconds".
    public var restartInterval: TimeAmount
    /// Terminate-Requests sent without receiving a Terminate-Ack (default 2).
    public var maxTerminate: Int
    /// Configure-Requests sent without receiving a valid reply (default 10).
    public var maxConfigure: Int
    /// Configure-Naks sent without sending a Configure-Ack, after which Naks become Rejects
    /// (default 5).
    public var maxFailure: Int

    public init(
        restartInterval: TimeAmount = .seconds(3),
        maxTerminate: Int = 2,
        maxConfigure: Int = 10,
        maxFailure: Int = 5
    ) {
        self.restartInterval = restartInterval
        self.maxTerminate = maxTerminate
        self.maxConfigure = maxConfigure
        self.maxFailure = maxFailure
    }
}

/// The option-negotiation automaton of RFC 1661 §4, written once and used by LCP, IPCP, IPV6CP
/// and CCP. A protocol plugs in only its option policy (`OptionNegotiator`).
///
/// Sans-I/O: `handle(_:now:)` takes an event and the current time and returns actions; the
/// Restart timer is the value `nextDeadline`, and the shell calls `handle(.timeout, now:)` once
/// it has passed.
public struct NegotiationAutomaton<Negotiator: OptionNegotiator>: Sendable {
    public typealias Option = Negotiator.Option
    public typealias Message = ControlProtocolMessage<Option>

    /// The ten states of RFC 1661 §4.2.
    public enum State: Int, Hashable, Sendable, CaseIterable, CustomStringConvertible {
        case initial = 0
        case starting, closed, stopped, closing, stopping, reqSent, ackRcvd, ackSent, opened

        public var description: String {
            switch self {
            case .initial: return "Initial"
            case .starting: return "Starting"
            case .closed: return "Closed"
            case .stopped: return "Stopped"
            case .closing: return "Closing"
            case .stopping: return "Stopping"
            case .reqSent: return "Req-Sent"
            case .ackRcvd: return "Ack-Rcvd"
            case .ackSent: return "Ack-Sent"
            case .opened: return "Opened"
            }
        }
    }

    /// What the layers around the automaton tell it.
    public enum Event: Hashable, Sendable {
        /// The lower layer is ready (RFC 1661 §4.3 Up).
        case up
        /// The lower layer is gone.
        case down
        /// Administrative Open.
        case open
        /// Administrative Close, with the text of the Terminate-Request.
        case close(reason: [UInt8])
        /// The Restart timer expired (the automaton decides TO+ or TO-).
        case timeout
        /// A packet of this protocol arrived.
        case received(ControlPacket)
    }

    /// What the automaton asks of the layers around it.
    public enum Action: Hashable, Sendable {
        case send(ControlPacket)
        /// tlu: the layer is open (RFC 1661 §4.4).
        case thisLayerUp
        /// tld: the layer is leaving the Opened state.
        case thisLayerDown
        /// tls: the lower layer should come up.
        case thisLayerStarted
        /// tlf: the lower layer is no longer needed; `failure` says why when it was not a
        /// normal close.
        case thisLayerFinished(NegotiationFailure?)
        /// A packet handed to the protocol above the automaton (RXR and RXJ+ events): Echo,
        /// Discard, Identification, Time-Remaining, Protocol-Reject, CCP Reset-Request/Ack.
        case deliver(Message, identifier: UInt8)
    }

    /// The RFC 1661 §4.4 actions, recorded per transition so tests can check each table cell.
    public enum Primitive: String, Hashable, Sendable {
        case tlu, tld, tls, tlf, irc, zrc, scr, sca, scn, str, sta, scj, ser
    }

    public private(set) var state: State = .initial
    /// When the Restart timer fires, if it is running.
    public private(set) var nextDeadline: NIODeadline?
    public var negotiator: Negotiator
    public var configuration: AutomatonConfiguration
    /// The RFC 1661 actions of the last transition, in order.
    public private(set) var lastPrimitives: [Primitive] = []
    /// Why the layer finished, when a negotiation failure or a timeout caused it.
    public private(set) var failure: NegotiationFailure?
    /// Packets discarded as invalid (bad Acks, Naks with a wrong identifier, malformed packets).
    public private(set) var discardedPackets: Int = 0

    private var restartCounter = 0
    private var naksSent = 0
    private var nextIdentifier: UInt8 = 1
    private var lastRequest: (identifier: UInt8, options: [UInt8])?
    private var receivedAnyReply = false
    private var terminateReason: [UInt8] = []
    private var terminateIdentifier: UInt8 = 0

    // The packet being processed, for the actions that answer it.
    private var pendingEvaluation: RequestEvaluation<Option>?
    private var pendingPacket: ControlPacket?
    /// The current event is a TO+ (a retransmission keeps the identifier).
    private var retransmitting = false
    /// The negotiator was reset during the current event.
    private var negotiationReset = false
    /// The last Configure-Request was acknowledged: replies with its identifier are duplicates.
    private var lastRequestAcknowledged = false

    public init(negotiator: Negotiator, configuration: AutomatonConfiguration = .init(), initialIdentifier: UInt8 = 1) {
        self.negotiator = negotiator
        self.configuration = configuration
        self.nextIdentifier = initialIdentifier
    }

    /// Whether the layer is open.
    public var isOpened: Bool { state == .opened }

    // MARK: - Events

    /// Feeds one event. `now` is used only to arm the Restart timer.
    public mutating func handle(_ event: Event, now: NIODeadline) -> [Action] {
        lastPrimitives = []
        pendingEvaluation = nil
        pendingPacket = nil
        retransmitting = false
        negotiationReset = false
        var actions: [Action] = []
        switch event {
        case .up: transition(.up, now: now, into: &actions)
        case .down: transition(.down, now: now, into: &actions)
        case .open: transition(.open, now: now, into: &actions)
        case .close(let reason):
            terminateReason = reason
            transition(.close, now: now, into: &actions)
        case .timeout:
            guard let deadline = nextDeadline, now >= deadline else { return [] }
            // RFC 1661 §4.3: TO+ while the Restart counter is above zero, TO- when it is not.
            retransmitting = restartCounter > 0
            transition(restartCounter > 0 ? .timeoutPositive : .timeoutNegative, now: now, into: &actions)
        case .received(let packet):
            receive(packet, now: now, into: &actions)
        }
        return actions
    }

    /// Gives up the negotiation with a reason: an administrative Close that remembers why.
    public mutating func fail(_ reason: NegotiationFailure, now: NIODeadline) -> [Action] {
        failure = reason
        return handle(.close(reason: Array(reason.description.utf8)), now: now)
    }

    /// Sends a packet of a code the automaton does not manage (Echo-Request, Reset-Request) with
    /// a fresh identifier.
    public mutating func makePacket(_ message: Message) -> ControlPacket {
        let packet = message.packet(identifier: nextIdentifier)
        nextIdentifier &+= 1
        return packet
    }

    // MARK: - Classification of received packets (RFC 1661 §4.3)

    /// The events of RFC 1661 §4.3 after a received packet has been classified.
    enum TableEvent: CaseIterable {
        case up, down, open, close, timeoutPositive, timeoutNegative
        case rcrGood, rcrBad, rca, rcn, rtr, rta, ruc, rxjGood, rxjBad, rxr
    }

    private mutating func receive(_ packet: ControlPacket, now: NIODeadline, into actions: inout [Action]) {
        // RFC 1661 §4.2: packets received in Initial or Starting are silently discarded.
        if state == .initial || state == .starting {
            discardedPackets += 1
            return
        }
        let message: Message
        do {
            message = try Message(packet)
        } catch {
            discardedPackets += 1
            return
        }
        pendingPacket = packet
        switch message {
        case .configureRequest(let options):
            // Evaluated only where the table answers with sca/scn; elsewhere the request is
            // answered with Terminate-Ack or ignored, and the negotiator must not see it.
            switch state {
            case .stopped, .reqSent, .ackRcvd, .ackSent, .opened:
                // From Stopped or Opened the request restarts negotiation (irc/tld,scr): reset
                // first so that the evaluation is part of the new negotiation.
                if state == .stopped || state == .opened { prepareFreshNegotiation() }
                var evaluation = negotiator.evaluateRequest(options)
                if case .nak(let naked) = evaluation, naksSent >= configuration.maxFailure {
                    // RFC 1661 §4.6 Max-Failure: stop Nak'ing, Reject instead.
                    let types = Set(naked.map(\.type))
                    evaluation = .reject(options.filter { types.contains($0.type) })
                }
                pendingEvaluation = evaluation
                transition(evaluation == .ack ? .rcrGood : .rcrBad, now: now, into: &actions)
            case .initial, .starting, .closed, .closing, .stopping:
                transition(.rcrGood, now: now, into: &actions)
            }
        case .configureAck(let options):
            guard let request = lastRequest, packet.identifier == request.identifier, !lastRequestAcknowledged,
                ConfigurationOption.serializeList(options.map(\.raw)) == request.options
            else {
                // RFC 1661 §5.2: an Ack that does not match "MUST be silently discarded".
                discardedPackets += 1
                return
            }
            receivedAnyReply = true
            lastRequestAcknowledged = true
            if isNegotiating { negotiator.requestAcknowledged(options) }
            transition(.rca, now: now, into: &actions)
        case .configureNak(let options), .configureReject(let options):
            // As pppd's `seen_ack`: a Nak or Reject for a request already acknowledged is stale.
            guard let request = lastRequest, packet.identifier == request.identifier, !lastRequestAcknowledged else {
                discardedPackets += 1
                return
            }
            receivedAnyReply = true
            if isNegotiating {
                let isNak = packet.code == .configureNak
                switch isNak ? negotiator.requestNaked(options) : negotiator.requestRejected(options) {
                case .proceed: break
                case .invalid:
                    discardedPackets += 1
                    return
                case .fail(let reason):
                    actions += fail(reason, now: now)
                    return
                }
            }
            transition(.rcn, now: now, into: &actions)
        case .terminateRequest:
            transition(.rtr, now: now, into: &actions)
        case .terminateAck:
            transition(.rta, now: now, into: &actions)
        case .codeReject(let rejected):
            // RFC 1661 §5.6: rejecting a code this protocol needs (1–7) is catastrophic.
            let code = rejected.first ?? 0
            transition((1...7).contains(code) ? .rxjBad : .rxjGood, now: now, into: &actions)
        case .protocolReject(let rejectedProtocol, _):
            // RFC 1661 §5.7: LCP rejected is catastrophic; any other protocol is for the
            // session to stop.
            if rejectedProtocol == Option.controlProtocol {
                failure = .protocolRejected(rejectedProtocol)
                transition(.rxjBad, now: now, into: &actions)
            } else {
                transition(.rxjGood, now: now, into: &actions)
                if state != .closed && state != .stopped {
                    actions.append(.deliver(message, identifier: packet.identifier))
                }
            }
        case .echoRequest, .echoReply, .discardRequest, .identification, .timeRemaining, .resetRequest, .resetAck:
            transition(.rxr, now: now, into: &actions)
            // RFC 1661 §5.8: Echo and Discard are only meaningful in the Opened state.
            if state == .opened { actions.append(.deliver(message, identifier: packet.identifier)) }
        case .unknown:
            transition(.ruc, now: now, into: &actions)
        }
    }

    private var isNegotiating: Bool { state == .reqSent || state == .ackRcvd || state == .ackSent }

    // MARK: - The state transition table (RFC 1661 §4.1)

    private mutating func transition(_ event: TableEvent, now: NIODeadline, into actions: inout [Action]) {
        switch (state, event) {
        // Up
        case (.initial, .up): enter(.closed, [], now, &actions)  // Up in Initial: 2
        case (.starting, .up): enter(.reqSent, [.irc, .scr], now, &actions)  // irc,scr/6
        case (.closed, .up), (.stopped, .up), (.closing, .up), (.stopping, .up), (.reqSent, .up), (.ackRcvd, .up),
            (.ackSent, .up), (.opened, .up):
            break  // illegal (-)

        // Down
        case (.initial, .down), (.starting, .down): break  // illegal (-)
        case (.closed, .down): enter(.initial, [], now, &actions)  // 0
        case (.stopped, .down): enter(.starting, [.tls], now, &actions)  // tls/1
        case (.closing, .down): enter(.initial, [], now, &actions)  // 0
        case (.stopping, .down), (.reqSent, .down), (.ackRcvd, .down), (.ackSent, .down):
            enter(.starting, [], now, &actions)  // 1
        case (.opened, .down): enter(.starting, [.tld], now, &actions)  // tld/1

        // Open (no Restart option: "3r", "5r", "9r" stay)
        case (.initial, .open): enter(.starting, [.tls], now, &actions)  // tls/1
        case (.starting, .open): break  // 1
        case (.closed, .open): enter(.reqSent, [.irc, .scr], now, &actions)  // irc,scr/6
        case (.closing, .open): enter(.stopping, [], now, &actions)  // 5r
        case (.stopped, .open), (.stopping, .open), (.reqSent, .open), (.ackRcvd, .open), (.ackSent, .open),
            (.opened, .open):
            break  // 3r, 5r, 6, 7, 8, 9r (we do not implement the Restart option)

        // Close
        case (.initial, .close): break  // 0
        case (.starting, .close): enter(.initial, [.tlf], now, &actions)  // tlf/0
        case (.closed, .close), (.stopped, .close): enter(.closed, [], now, &actions)  // 2
        case (.closing, .close), (.stopping, .close): enter(.closing, [], now, &actions)  // 4
        case (.reqSent, .close), (.ackRcvd, .close), (.ackSent, .close):
            enter(.closing, [.irc, .str], now, &actions)  // irc,str/4
        case (.opened, .close): enter(.closing, [.tld, .irc, .str], now, &actions)  // tld,irc,str/4

        // TO+
        case (.closing, .timeoutPositive): enter(.closing, [.str], now, &actions)  // str/4
        case (.stopping, .timeoutPositive): enter(.stopping, [.str], now, &actions)  // str/5
        case (.reqSent, .timeoutPositive), (.ackRcvd, .timeoutPositive):
            enter(.reqSent, [.scr], now, &actions)  // scr/6
        case (.ackSent, .timeoutPositive): enter(.ackSent, [.scr], now, &actions)  // scr/8
        case (.initial, .timeoutPositive), (.starting, .timeoutPositive), (.closed, .timeoutPositive),
            (.stopped, .timeoutPositive), (.opened, .timeoutPositive):
            break  // illegal (-)

        // TO-
        case (.closing, .timeoutNegative): enter(.closed, [.tlf], now, &actions)  // tlf/2
        case (.stopping, .timeoutNegative): enter(.stopped, [.tlf], now, &actions)  // tlf/3
        case (.reqSent, .timeoutNegative), (.ackRcvd, .timeoutNegative), (.ackSent, .timeoutNegative):
            if failure == nil {
                failure =
                    receivedAnyReply
                    ? .notConverging(Option.controlProtocol) : .peerNotResponding(Option.controlProtocol)
            }
            enter(.stopped, [.tlf], now, &actions)  // tlf/3p
        case (.initial, .timeoutNegative), (.starting, .timeoutNegative), (.closed, .timeoutNegative),
            (.stopped, .timeoutNegative), (.opened, .timeoutNegative):
            break  // illegal (-)

        // RCR+
        case (.initial, .rcrGood), (.starting, .rcrGood): break  // illegal (-)
        case (.closed, .rcrGood): enter(.closed, [.sta], now, &actions)  // sta/2
        case (.stopped, .rcrGood): enter(.ackSent, [.irc, .scr, .sca], now, &actions)  // irc,scr,sca/8
        case (.closing, .rcrGood): break  // 4
        case (.stopping, .rcrGood): break  // 5
        case (.reqSent, .rcrGood): enter(.ackSent, [.sca], now, &actions)  // sca/8
        case (.ackRcvd, .rcrGood): enter(.opened, [.sca, .tlu], now, &actions)  // sca,tlu/9
        case (.ackSent, .rcrGood): enter(.ackSent, [.sca], now, &actions)  // sca/8
        case (.opened, .rcrGood): enter(.ackSent, [.tld, .scr, .sca], now, &actions)  // tld,scr,sca/8

        // RCR-
        case (.initial, .rcrBad), (.starting, .rcrBad): break  // illegal (-)
        case (.closed, .rcrBad): enter(.closed, [.sta], now, &actions)  // sta/2
        case (.stopped, .rcrBad): enter(.reqSent, [.irc, .scr, .scn], now, &actions)  // irc,scr,scn/6
        case (.closing, .rcrBad), (.stopping, .rcrBad): break  // 4, 5
        case (.reqSent, .rcrBad): enter(.reqSent, [.scn], now, &actions)  // scn/6
        case (.ackRcvd, .rcrBad): enter(.ackRcvd, [.scn], now, &actions)  // scn/7
        case (.ackSent, .rcrBad): enter(.reqSent, [.scn], now, &actions)  // scn/6
        case (.opened, .rcrBad): enter(.reqSent, [.tld, .scr, .scn], now, &actions)  // tld,scr,scn/6

        // RCA
        case (.initial, .rca), (.starting, .rca): break  // illegal (-)
        case (.closed, .rca): enter(.closed, [.sta], now, &actions)  // sta/2
        case (.stopped, .rca): enter(.stopped, [.sta], now, &actions)  // sta/3
        case (.closing, .rca), (.stopping, .rca): break  // 4, 5
        case (.reqSent, .rca): enter(.ackRcvd, [.irc], now, &actions)  // irc/7
        case (.ackRcvd, .rca): enter(.reqSent, [.scr], now, &actions)  // scr/6x (crossed connection)
        case (.ackSent, .rca): enter(.opened, [.irc, .tlu], now, &actions)  // irc,tlu/9
        case (.opened, .rca): enter(.reqSent, [.tld, .scr], now, &actions)  // tld,scr/6x

        // RCN
        case (.initial, .rcn), (.starting, .rcn): break  // illegal (-)
        case (.closed, .rcn): enter(.closed, [.sta], now, &actions)  // sta/2
        case (.stopped, .rcn): enter(.stopped, [.sta], now, &actions)  // sta/3
        case (.closing, .rcn), (.stopping, .rcn): break  // 4, 5
        case (.reqSent, .rcn): enter(.reqSent, [.irc, .scr], now, &actions)  // irc,scr/6
        case (.ackRcvd, .rcn): enter(.reqSent, [.scr], now, &actions)  // scr/6x
        case (.ackSent, .rcn): enter(.ackSent, [.irc, .scr], now, &actions)  // irc,scr/8
        case (.opened, .rcn): enter(.reqSent, [.tld, .scr], now, &actions)  // tld,scr/6x

        // RTR
        case (.initial, .rtr), (.starting, .rtr): break  // illegal (-)
        case (.closed, .rtr): enter(.closed, [.sta], now, &actions)  // sta/2
        case (.stopped, .rtr): enter(.stopped, [.sta], now, &actions)  // sta/3
        case (.closing, .rtr): enter(.closing, [.sta], now, &actions)  // sta/4
        case (.stopping, .rtr): enter(.stopping, [.sta], now, &actions)  // sta/5
        case (.reqSent, .rtr), (.ackRcvd, .rtr), (.ackSent, .rtr): enter(.reqSent, [.sta], now, &actions)  // sta/6
        case (.opened, .rtr): enter(.stopping, [.tld, .zrc, .sta], now, &actions)  // tld,zrc,sta/5

        // RTA
        case (.initial, .rta), (.starting, .rta): break  // illegal (-)
        case (.closed, .rta), (.stopped, .rta): break  // 2, 3
        case (.closing, .rta): enter(.closed, [.tlf], now, &actions)  // tlf/2
        case (.stopping, .rta): enter(.stopped, [.tlf], now, &actions)  // tlf/3
        case (.reqSent, .rta), (.ackRcvd, .rta): enter(.reqSent, [], now, &actions)  // 6
        case (.ackSent, .rta): break  // 8
        case (.opened, .rta): enter(.reqSent, [.tld, .scr], now, &actions)  // tld,scr/6

        // RUC
        case (.initial, .ruc), (.starting, .ruc): break  // illegal (-)
        case (.closed, .ruc), (.stopped, .ruc), (.closing, .ruc), (.stopping, .ruc), (.reqSent, .ruc), (.ackRcvd, .ruc),
            (.ackSent, .ruc), (.opened, .ruc):
            enter(state, [.scj], now, &actions)  // scj/same

        // RXJ+
        case (.initial, .rxjGood), (.starting, .rxjGood): break  // illegal (-)
        case (.closed, .rxjGood), (.stopped, .rxjGood), (.closing, .rxjGood), (.stopping, .rxjGood),
            (.reqSent, .rxjGood),
            (.ackSent, .rxjGood), (.opened, .rxjGood):
            break  // 2, 3, 4, 5, 6, 8, 9
        case (.ackRcvd, .rxjGood): enter(.reqSent, [], now, &actions)  // 6

        // RXJ-
        case (.initial, .rxjBad), (.starting, .rxjBad): break  // illegal (-)
        case (.closed, .rxjBad), (.closing, .rxjBad): enter(.closed, [.tlf], now, &actions)  // tlf/2
        case (.stopped, .rxjBad), (.stopping, .rxjBad), (.reqSent, .rxjBad), (.ackRcvd, .rxjBad), (.ackSent, .rxjBad):
            enter(.stopped, [.tlf], now, &actions)  // tlf/3
        case (.opened, .rxjBad): enter(.stopping, [.tld, .irc, .str], now, &actions)  // tld,irc,str/5

        // RXR
        case (.initial, .rxr), (.starting, .rxr): break  // illegal (-)
        case (.closed, .rxr), (.stopped, .rxr), (.closing, .rxr), (.stopping, .rxr), (.reqSent, .rxr), (.ackRcvd, .rxr),
            (.ackSent, .rxr):
            break  // 2, 3, 4, 5, 6, 7, 8
        case (.opened, .rxr): enter(.opened, [.ser], now, &actions)  // ser/9
        }
    }

    /// Performs the RFC actions of one table cell and moves to `next`.
    private mutating func enter(_ next: State, _ primitives: [Primitive], _ now: NIODeadline, _ actions: inout [Action])
    {
        let previous = state
        lastPrimitives = primitives
        for primitive in primitives {
            switch primitive {
            case .tlu:
                naksSent = 0
                actions.append(.thisLayerUp)
            case .tld: actions.append(.thisLayerDown)
            case .tls:
                failure = nil
                actions.append(.thisLayerStarted)
            case .tlf: actions.append(.thisLayerFinished(failure))
            case .irc:
                // RFC 1661 §4.4 irc: Max-Terminate for Close/RXJ-, Max-Configure otherwise.
                let terminating = next == .closing || next == .stopping
                restartCounter = terminating ? configuration.maxTerminate : configuration.maxConfigure
            case .zrc:
                restartCounter = 0
                nextDeadline = now + configuration.restartInterval
            case .scr:
                sendConfigureRequest(from: previous, now: now, into: &actions)
            case .sca:
                guard let packet = pendingPacket else { break }
                naksSent = 0
                actions.append(
                    .send(ControlPacket(code: .configureAck, identifier: packet.identifier, data: packet.data))
                )
            case .scn:
                guard let packet = pendingPacket, let evaluation = pendingEvaluation else { break }
                switch evaluation {
                case .ack: break
                case .nak(let options):
                    naksSent += 1
                    actions.append(.send(Message.configureNak(options).packet(identifier: packet.identifier)))
                case .reject(let options):
                    actions.append(.send(Message.configureReject(options).packet(identifier: packet.identifier)))
                }
            case .str:
                if restartCounter > 0 { restartCounter -= 1 }
                terminateIdentifier = nextIdentifier
                nextIdentifier &+= 1
                actions.append(.send(Message.terminateRequest(terminateReason).packet(identifier: terminateIdentifier)))
                nextDeadline = now + configuration.restartInterval
            case .sta:
                let identifier = pendingPacket?.identifier ?? 0
                actions.append(.send(Message.terminateAck([]).packet(identifier: identifier)))
            case .scj:
                guard let packet = pendingPacket else { break }
                // RFC 1661 §5.6: the rejected packet, from its Code field.
                actions.append(.send(Message.codeReject(packet.bytes).packet(identifier: nextIdentifier)))
                nextIdentifier &+= 1
            case .ser:
                break  // the Echo-Reply needs LCP's Magic-Number: the layer above sends it on `.deliver`.
            }
        }
        state = next
        // RFC 1661 §4.1: the Restart timer runs only in Closing, Stopping, Req-Sent, Ack-Rcvd and
        // Ack-Sent; it is stopped on leaving them.
        switch next {
        case .closing, .stopping, .reqSent, .ackRcvd, .ackSent: break
        case .initial, .starting, .closed, .stopped, .opened: nextDeadline = nil
        }
    }

    private mutating func prepareFreshNegotiation() {
        negotiator.resetNegotiation()
        naksSent = 0
        receivedAnyReply = false
        negotiationReset = true
    }

    private mutating func sendConfigureRequest(from previous: State, now: NIODeadline, into actions: inout [Action]) {
        // As pppd's fsm_sconfreq: a request sent from outside the negotiating states starts a
        // fresh negotiation.
        let negotiating = previous == .reqSent || previous == .ackRcvd || previous == .ackSent
        if !negotiating && !negotiationReset { prepareFreshNegotiation() }
        let options = ConfigurationOption.serializeList(negotiator.requestOptions().map(\.raw))
        // RFC 1661 §5.1: a new identifier whenever the options change or a valid reply was
        // received; a retransmission of the same request (TO+) may keep it.
        let identifier: UInt8
        if retransmitting, let last = lastRequest, last.options == options, !lastRequestAcknowledged {
            identifier = last.identifier
        } else {
            identifier = nextIdentifier
            nextIdentifier &+= 1
        }
        lastRequest = (identifier, options)
        lastRequestAcknowledged = false
        if restartCounter > 0 { restartCounter -= 1 }
        actions.append(.send(ControlPacket(code: .configureRequest, identifier: identifier, data: options)))
        nextDeadline = now + configuration.restartInterval
    }

    /// Injects a classified table event, bypassing packet parsing: for the table-driven test of
    /// RFC 1661 §4.1 only.
    mutating func inject(_ event: TableEvent, in state: State, now: NIODeadline) -> [Action] {
        self.state = state
        lastPrimitives = []
        var actions: [Action] = []
        transition(event, now: now, into: &actions)
        return actions
    }
}
