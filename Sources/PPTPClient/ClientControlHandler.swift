import Logging
import NIOCore
import PPP
import PPTP
import PPTPNetwork

/// What the client's control handler tells the runtime.
enum ClientEvent: Sendable {
    case callConnected(CallInformation)
    case networkUp(IPv4NetworkSettings, mtu: Int)
    case pppEvent(PPPSessionEvent)
    case finished(ClientOutcome)
}

/// The NIO shell of the client's control connection (PNS role, RFC 2637 §3.1.1, §3.2.4.2) over
/// the sans-I/O `PPTPEndpoint`, which places the one outgoing call and runs its lifecycle; this
/// hands the call to the data plane and turns whatever ends the session into a `ClientOutcome`.
final class ClientControlHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var engine: PPTPEndpoint
    private var context: ChannelHandlerContext?
    private var timer: Scheduled<Void>?
    /// The data plane said the first GRE packet from the server arrived (`.firstGREReceived`).
    private var greArrived = false
    private let configuration: ClientConfiguration
    private let serverAddress: IPv4Address
    private let dataPlane: any ClientDataPlane
    private let logger: Logger
    private let onEvent: @Sendable (ClientEvent) -> Void
    private let callID: UInt16
    private var call: CallInformation?
    private var key: SessionKey?
    private var outcome: ClientOutcome?
    private var networkWasUp = false
    private var pppDown: PPPDownReason?
    private var stopping = false
    /// The session is in the data plane and its end has not been confirmed (`.removed`).
    private var sessionActive = false
    /// What the server said when it cleared the call (Call-Disconnect-Notify, OCRP refusal).
    private var serverClear: CallClearReason?
    /// The end waits for the data plane to confirm the session is gone, so that PPP's own
    /// reason (which races the server's Call-Disconnect-Notify) is known.
    private var pendingFinish: ClientOutcome?
    /// How the control connection ended (Stop-Control-Connection-Request, echo time-out …) while
    /// PPP was still running: PPP's own reason comes later through the data plane and wins (a
    /// server that refuses the password sends MS-CHAP Failure on GRE, then stops the control
    /// connection on TCP, and the TCP message may arrive first); this is the fallback.
    private var controlEnd: ClientOutcome?
    private var finished = false

    init(
        configuration: ClientConfiguration,
        serverAddress: IPv4Address,
        dataPlane: any ClientDataPlane,
        logger: Logger,
        onEvent: @escaping @Sendable (ClientEvent) -> Void
    ) {
        self.configuration = configuration
        self.serverAddress = serverAddress
        self.dataPlane = dataPlane
        self.logger = logger
        self.onEvent = onEvent
        self.callID = UInt16.random(in: 1...UInt16.max)
        self.engine = PPTPEndpoint(
            configuration: PPTPEndpoint.Configuration(
                control: ControlConnectionConfiguration(
                    role: .pns,
                    hostName: configuration.hostName,
                    vendor: "swift-pptp",
                    establishTimeout: .seconds(30),
                    receiveWindow: 16384
                ),
                // The "GRE blocked" check: the server must send GRE (its LCP request) soon.
                greTimeout: configuration.greTimeout
            ),
            echoIdentifierSeed: UInt32.random(in: 1...UInt32.max)
        )
    }

    /// The event loop, kept after the channel is gone for the final steps.
    private var finishLoop: (any EventLoop)?

    func channelActive(context: ChannelHandlerContext) {
        self.context = context
        finishLoop = context.eventLoop
        perform(engine.connect(placingCall: callID, now: .now()))
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        perform(engine.receive(bytes: unwrapInboundIn(data), now: .now()))
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        perform(engine.transportClosed(now: .now()))
        if let key { dataPlane.submit(.callCleared(key)) }
        finish(
            outcome
                ?? (networkWasUp
                    ? .linkLost("the server closed the control connection")
                    : .controlConnectionFailed("the server closed the TCP connection"))
        )
        self.context = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("control connection error: \(error)")
        context.close(promise: nil)
    }

    /// Ends the session politely: LCP Terminate, then Call-Clear-Request and Stop-Control-
    /// Connection (called on the channel's event loop).
    func stop() {
        guard !stopping else { return }
        stopping = true
        if outcome == nil { outcome = .stopped }
        if let key, pppDown == nil {
            dataPlane.submit(.close(key, reason: .userRequest))
        } else {
            hangUp()
        }
    }

    private func hangUp() {
        // The endpoint sends Call-Clear-Request alone and stops once the Call-Disconnect-Notify
        // clears the call (accel-ppp reads a second message of the segment only later).
        perform(engine.hangUp(now: .now()))
    }

    private func finish(_ result: ClientOutcome) {
        guard !finished else { return }
        if sessionActive, let key {
            // Let PPP report why it ended first; the data plane confirms with `.removed`.
            pendingFinish = result
            dataPlane.submit(.callCleared(key))
            // Should the confirmation never come, end anyway.
            if let loop = context?.eventLoop ?? finishLoop {
                let bound = NIOLoopBound(self, eventLoop: loop)
                loop.scheduleTask(in: .seconds(3)) {
                    let handler = bound.value
                    handler.sessionActive = false
                    if let pending = handler.pendingFinish {
                        handler.pendingFinish = nil
                        handler.finish(pending)
                    }
                }
            }
            return
        }
        finished = true
        let server = serverClear.map { ClientOutcome.callRefused($0.description) }
        onEvent(.finished(outcome ?? server ?? controlEnd ?? result))
    }

    private func perform(_ commands: [PPTPEndpoint.Command]) {
        for command in commands {
            switch command {
            case .send(let message):
                context?.writeAndFlush(wrapOutboundOut(message.serialized()), promise: nil)
            case .established(let peer):
                logger.info(
                    "control connection up: server \"\(peer.hostName)\" vendor \"\(peer.vendor)\", firmware \(peer.firmwareRevision)"
                )
            case .offered(let offer):
                perform(engine.answer(offer, with: nil, now: .now()))
            case .startTunnel(let info):
                callConnected(info)
            case .callEnded(_, let reason, _):
                if let key { dataPlane.submit(.callCleared(key)) }
                switch reason {
                case .outgoingCallRefused, .disconnected:
                    serverClear = reason
                case .local, .peerRequested, .refused, .incomingCallRefused, .controlConnectionClosed:
                    break
                }
            case .closeTunnel:
                break  // a server's command
            case .report(let report):
                switch report {
                case .noGREWithin: greBlocked()
                case .peerQuirk: logger.info("\(report)")
                case .violation, .linkInfo, .wanError, .noCallWithin, .notAuthenticatedWithin:
                    logger.debug("\(report)")
                }
            case .close(let reason):
                if outcome == nil {
                    switch reason {
                    case .localStop: break
                    default:
                        let ended: ClientOutcome =
                            networkWasUp ? .linkLost(reason.description) : .controlConnectionFailed(reason.description)
                        if sessionActive && pppDown == nil { controlEnd = ended } else { outcome = ended }
                    }
                }
                context?.close(promise: nil)
            }
        }
        rearm()
    }

    private func rearm() {
        timer?.cancel()
        timer = nil
        guard let context, let deadline = engine.nextDeadline else { return }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: deadline) {
            let handler = bound.value
            handler.perform(handler.engine.timeout(now: .now()))
        }
    }

    private func callConnected(_ info: CallInformation) {
        call = info
        // GRE leaves from the control connection's local address, and is matched by that pair.
        var local = IPv4Address.unspecified
        if case .v4(let address)? = context?.localAddress, let ip = IPv4Address(address.host) { local = ip }
        let key = SessionKey(peer: serverAddress, local: local, callID: info.callID)
        self.key = key
        onEvent(.callConnected(info))
        let ppp = PPPSessionConfiguration(
            role: .client,
            policy: configuration.policy,
            mru: 1500,
            name: configuration.hostName,
            credentials: configuration.credentials,
            ipcp: .requesting(preferred: .unspecified, requestDNS: true),
            ipv6: configuration.ipv6,
            echoInterval: configuration.echoInterval,
            echoFailures: configuration.echoFailures,
            handshakeTimeout: configuration.handshakeTimeout
        )
        let tunnel = TunnelSession(
            call: info,
            gre: GRESequencerConfiguration(),
            ppp: ppp,
            random: SystemRandomNumberGenerator()
        )
        dataPlane.submit(.add(key, tunnel))
        sessionActive = true
    }

    /// The endpoint saw no GRE from the server within `greTimeout` of the call.
    private func greBlocked() {
        guard let key, !networkWasUp, pppDown == nil, !greArrived else { return }
        logger.warning("no GRE from \(serverAddress) \(configuration.greTimeout) after the call was connected")
        outcome = .greBlocked
        dataPlane.submit(.callCleared(key))
        hangUp()
    }

    /// Events from the data plane, on our event loop.
    func dataPlaneEvent(_ event: DataPlaneEvent) {
        switch event {
        case .verify:
            break  // a client never verifies
        case .ppp(let pppEvent):
            onEvent(.pppEvent(pppEvent))
            switch pppEvent {
            case .networkUp(let settings):
                networkWasUp = true
                // pppd: the MTU is at most the peer's MRU, less MPPE's 4 octets when it is up.
                let mtu = min(configuration.mtu, settings.largestDatagram)
                if mtu < configuration.mtu {
                    logger.info(
                        "MTU \(mtu) (the server's MRU leaves room for no more than \(settings.largestDatagram))"
                    )
                }
                onEvent(.networkUp(settings, mtu: mtu))
            case .down(let reason):
                pppDown = reason
                if outcome == nil {
                    if reason == .lowerLayerDown, let serverClear {
                        outcome = .callRefused(serverClear.description)
                    } else if reason == .lowerLayerDown, let controlEnd {
                        outcome = controlEnd  // PPP only saw the call go: the control connection says why
                    } else {
                        outcome = .from(
                            reason,
                            greReceived: greArrived ? 1 : 0,
                            wasUp: networkWasUp
                        )
                    }
                }
                hangUp()
            default:
                break
            }
        case .firstGREReceived:
            greArrived = true
            if let key { engine.greArrived(key.callID) }
        case .anomaly(let anomaly):
            logger.warning("from \(serverAddress): \(anomaly)")
        case .removed:
            sessionActive = false
            if let key { perform(engine.sessionRemoved(key.callID, now: .now())) }
            if let pendingFinish {
                self.pendingFinish = nil
                finish(pendingFinish)
            }
        }
    }
}

/// The data plane as the client sees it.
public protocol ClientDataPlane: Sendable {
    func submit(_ command: DataPlaneCommand)
}
