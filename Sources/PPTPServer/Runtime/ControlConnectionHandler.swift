import Logging
import NIOCore
import PPP
import PPTP
import PPTPNetwork

/// The thin NIO shell of one PPTP control connection on the server (STYLE.md §5): bytes and
/// time go to the sans-I/O `PPTPEndpoint`, its commands are carried out, and one timer is kept at
/// its deadline (in the loop's shared `ControlTimers`). What stays here is the server's policy:
/// admission, Call IDs, the authentication backend, addresses, session records and events.
final class ControlConnectionHandler: ChannelInboundHandler, ControlTimerClient {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let server: ServerContext
    private var engine: PPTPEndpoint
    private var context: ChannelHandlerContext?
    private let timers: ControlTimers
    /// Our id in `timers` (0: not registered).
    private var timerID = 0
    /// When our timer fires (nil: none pending). A later deadline leaves it pending: it fires
    /// early and re-arms.
    private var timerDeadline: NIODeadline?
    /// Control-connection timers (30 s set-up, 60 s echo, 60 s call states) fire this much late: the
    /// echo deadline moves on by the round trip when the reply arrives, and without slack the timer
    /// set when the request went out would fire just before it, only to re-arm.
    static let timerSlack = TimeAmount.milliseconds(250)
    /// Set while our replies cannot be written (the peer does not read them): the connection is
    /// closed when this passes (the handshake time-out).
    private var stallDeadline: NIODeadline?
    /// The write-buffer water marks of a control connection: replies queue up to the high mark,
    /// then `BackPressureHandler` stops reading the peer until the queue is back under the low one.
    static let writeHighWater = 64 * 1024
    static let writeLowWater = 16 * 1024
    private var peer = IPv4Address.unspecified
    /// Our address on this connection: GRE for its calls leaves from it and must arrive at it.
    private var local = IPv4Address.unspecified
    private var logger: Logger

    /// What the server knows of a call beyond its lifecycle (which the endpoint keeps).
    private struct Call {
        var key: SessionKey
        /// Authenticated: counted as a session, no longer as a call waiting to authenticate.
        var authenticated = false
        var connectedAt: NIODeadline
        var user: String?
        var method: AuthenticationMethod?
        var address: IPv4Address?
        var networkUp = false
        var down: PPPDownReason?
    }

    /// Calls by our Call ID; they stay until the data plane confirms the session is gone.
    private var calls: [UInt16: Call] = [:]
    /// This connection is counted among those without an authenticated session.
    private var countedUnauthenticated = false

    init(server: ServerContext, timers: ControlTimers) {
        self.server = server
        self.timers = timers
        self.engine = PPTPEndpoint(
            configuration: PPTPEndpoint.Configuration(
                control: server.controlConfiguration,
                // DESIGN.md "Server": a TCP connection that never completes SCCRQ/OCRQ is closed.
                noCallTimeout: server.configuration.limits.handshakeTimeout,
                authenticationTimeout: server.configuration.limits.authenticationTimeout
            ),
            echoIdentifierSeed: UInt32.random(in: 1...UInt32.max)
        )
        self.logger = server.logger
    }

    private var peerDescription: String { peer.description }

    // MARK: - Channel events

    func channelActive(context: ChannelHandlerContext) {
        if case .v4(let address) = context.remoteAddress, let ip = IPv4Address(address.host) {
            peer = ip
        }
        if case .v4(let address) = context.localAddress, let ip = IPv4Address(address.host) {
            local = ip
        }
        logger[metadataKey: "peer"] = "\(peerDescription)"
        // Connections without an authenticated session are limited in total and per peer
        // (issue 22 item 9); a refused one is closed before it costs a timer or an engine.
        let now = NIODeadline.now()
        let peerName = peerDescription
        if let (refusal, log) = server.state.admission({
            $0.check({ $0.admitConnection(peer: peerName, now: now) }, logKey: "connection \(peerName)", now: now)
        }) {
            if log { logger.warning("refusing control connections from \(peerName): \(refusal) (said once a minute)") }
            context.close(promise: nil)
            return
        }
        countedUnauthenticated = true
        self.context = context
        timerID = timers.register(self)
        logger.debug("control connection accepted")
        perform(engine.accepted(now: now))
        context.fireChannelActive()
    }

    /// The connection no longer counts as unauthenticated (a session authenticated, or it closed).
    private func releaseUnauthenticatedConnection() {
        guard countedUnauthenticated else { return }
        countedUnauthenticated = false
        let peerName = peerDescription
        server.state.admission { $0.releaseConnection(peer: peerName) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard self.context != nil else { return }  // refused, closing
        let bytes = unwrapInboundIn(data)
        perform(engine.receive(bytes: bytes, now: .now()))
    }

    func channelInactive(context: ChannelHandlerContext) {
        releaseUnauthenticatedConnection()
        guard self.context != nil else { return context.fireChannelInactive() }  // refused at once
        // Our pending timer entry is skipped when it comes up.
        timers.unregister(timerID)
        timerDeadline = nil
        perform(engine.transportClosed(now: .now()))
        logger.debug("control connection closed")
        context.fireChannelInactive()
        self.context = nil
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            stallDeadline = nil
        } else if stallDeadline == nil {
            stallDeadline = .now() + server.configuration.limits.handshakeTimeout
            rearm()
        }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("control connection error: \(error)")
        context.close(promise: nil)
    }

    // MARK: - Endpoint commands

    private func perform(_ commands: [PPTPEndpoint.Command]) {
        for command in commands {
            switch command {
            case .send(let message):
                guard let context else { continue }
                context.writeAndFlush(wrapOutboundOut(message.serialized()), promise: nil)
            case .established(let info):
                logger.debug(
                    "control connection established: host \"\(info.hostName)\", vendor \"\(info.vendor)\", firmware \(info.firmwareRevision)"
                )
            case .offered(let offer):
                answer(offer)
            case .startTunnel(let info):
                connected(info)
            case .callEnded(let callID, let reason, let started):
                guard started, let call = calls[callID] else {
                    server.state.freeCallID(callID, peer: peer)
                    continue
                }
                logger.debug("call \(callID) cleared: \(reason)")
                server.dataPlane?.submit(.callCleared(call.key))
            case .closeTunnel(let callID, let reason):
                if let call = calls[callID] { server.dataPlane?.submit(.close(call.key, reason: reason)) }
            case .report(let report):
                switch report {
                case .noCallWithin, .notAuthenticatedWithin:
                    logger.info("closing: \(report) from \(peerDescription)")
                case .linkInfo: logger.trace("\(report)")
                case .wanError, .peerQuirk: logger.info("\(report)")
                case .violation, .noGREWithin: logger.debug("\(report)")
                }
            case .close(let reason):
                logger.debug("closing control connection: \(reason)")
                context?.close(promise: nil)
            }
        }
        rearm()
    }

    /// Keeps one timer entry at or before the engine's next deadline (plus `timerSlack`) and the
    /// no-call deadline. Most actions move the engine's deadline later (every message received
    /// pushes the echo deadline 60 s on): the entry then stays and, when it fires early,
    /// `timerFired` re-arms for the new deadline, so a message costs no timer work.
    private func rearm() {
        guard context != nil else { return }
        let engineDeadline = engine.nextDeadline.map { $0 + Self.timerSlack }
        guard let deadline = [engineDeadline, stallDeadline].compactMap({ $0 }).min() else { return }
        if let scheduled = timerDeadline, scheduled <= deadline { return }
        timerDeadline = deadline
        timers.schedule(timerID, at: deadline)
    }

    /// Our timer entry came up (from `ControlTimers`, on our event loop).
    func timerFired(_ deadline: NIODeadline) {
        guard deadline == timerDeadline else { return }  // replaced by an earlier entry
        timerDeadline = nil
        guard context != nil else { return }
        let now = NIODeadline.now()
        if let stall = stallDeadline, now >= stall, let context, !context.channel.isWritable {
            let queued = (try? context.channel.syncOptions?.getOption(.bufferedWritableBytes)) ?? 0
            let seconds = server.configuration.limits.handshakeTimeout.nanoseconds / 1_000_000_000
            logger.warning(
                "closing control connection from \(peerDescription): it has not read our replies for \(seconds) s (\(queued) bytes queued)"
            )
            stallDeadline = nil
            context.close(promise: nil)
            return
        }
        if let due = engine.nextDeadline, due <= now {
            perform(engine.timeout(now: now))
        } else {
            rearm()
        }
    }

    private func answer(_ offer: CallOffer) {
        let now = NIODeadline.now()
        guard case .outgoing = offer else {
            // Incoming calls (compulsory tunnelling) are not accepted yet.
            perform(engine.answer(offer, with: nil, now: now))
            return
        }
        let peerName = peerDescription
        if let (refusal, log) = server.state.admission({
            $0.check({ $0.admitCall(peer: peerName, now: now) }, logKey: "call \(peerName)", now: now)
        }) {
            if log { logger.warning("refused calls from \(peerName): \(refusal) (said once a minute)") }
            perform(engine.answer(offer, with: nil, now: now))
            return
        }
        guard let callID = server.state.allocateCallID(peer: peer) else {
            server.state.admission { $0.releaseCall(peer: peerName, authenticated: false) }
            logger.warning("refused call from \(peerDescription): no Call ID free")
            perform(engine.answer(offer, with: nil, now: now))
            return
        }
        calls[callID] = Call(key: SessionKey(peer: peer, local: local, callID: callID), connectedAt: now)
        perform(engine.answer(offer, with: callID, now: now))
    }

    private func connected(_ info: CallInformation) {
        guard let context, let call = calls[info.callID], let dataPlane = server.dataPlane else { return }
        let key = call.key
        server.router.register(key, NIOLoopBound(self, eventLoop: context.eventLoop))
        server.state.register(
            SessionRecord(
                peer: peerDescription,
                callID: info.callID,
                peerCallID: info.peerCallID,
                startedAt: server.secondsSinceStart()
            ),
            key: key
        )
        let tunnel = TunnelSession(
            call: info,
            gre: GRESequencerConfiguration(),
            ppp: server.pppConfiguration(),
            random: SystemRandomNumberGenerator()
        )
        logger.debug("call \(info.callID) connected (peer Call ID \(info.peerCallID), window \(info.peerWindow))")
        dataPlane.submit(.add(key, tunnel))
    }

    // MARK: - Data-plane events (on our event loop)

    func dataPlaneEvent(_ event: DataPlaneEvent, for key: SessionKey) {
        guard var call = calls[key.callID], call.key == key else { return }
        let now = NIODeadline.now()
        switch event {
        case .verify(let request):
            verify(request, key: key, now: now)
        case .ppp(let pppEvent):
            switch pppEvent {
            case .authenticated(let user, let method):
                call.user = user
                call.method = method
                server.state.update(key) {
                    $0.user = user
                    $0.method = method.rawValue
                }
            case .encryptionUp(let send, _):
                server.state.update(key) { $0.encryption = send.description }
            case .networkUp(let settings):
                call.networkUp = true
                call.address = settings.peerAddress
                server.state.update(key) {
                    $0.address = settings.peerAddress.description
                    $0.networkUp = true
                }
                server.events.publish(.started(description(of: call)))
            case .down(let reason):
                call.down = reason
                calls[key.callID] = call
                // PPP is over: the endpoint clears the call with the result that says why.
                perform(engine.sessionDown(key.callID, reason: reason, now: now))
                return
            case .protocolRejected(let rejected):
                logger.info(
                    "session \(key) user \"\(call.user ?? "?")\": the client rejected \(rejected) (LCP Protocol-Reject)"
                )
            case .linkEstablished, .passwordChanged, .ipv6Up, .peerIdentification, .echoReply:
                break
            }
        case .anomaly(let anomaly):
            logger.warning("session \(key) user \"\(call.user ?? "?")\": \(anomaly)")
        case .firstGREReceived:
            break  // reported in client mode only
        case .removed(let statistics):
            calls[key.callID] = nil
            server.router.unregister(key)
            let record = server.state.release(key, peer: peerDescription, authenticated: call.authenticated)
            var session = description(of: call)
            session.user = session.user ?? record?.user
            server.events.publish(
                .ended(
                    session,
                    statistics,
                    seconds: Double((now - call.connectedAt).nanoseconds) / 1e9,
                    reason: call.down.map { .ppp($0) } ?? .callCleared,
                    wasUp: call.networkUp
                )
            )
            // As Windows and pptpd do: the last call gone, the endpoint stops the control connection.
            perform(engine.sessionRemoved(key.callID, now: now))
            return
        }
        calls[key.callID] = call
    }

    private func description(of call: Call) -> SessionDescription {
        SessionDescription(
            key: call.key,
            user: call.user,
            method: call.method,
            address: call.address,
            encryption: nil
        )
    }

    /// The verdict on a login: the user's back-off first (no password is checked for a user that
    /// is backed off, from an address it has not logged in from), then the backend, then an address
    /// and room for one more session. Failures are counted per address and per user (issue 22
    /// item 11). A backend that answers from memory is asked at once; one that needs a round trip
    /// (RADIUS) answers later, on this loop.
    private func verify(_ request: AuthenticationRequest, key: SessionKey, now: NIODeadline) {
        let peerName = peerDescription
        let user = request.userName
        if let (backedOff, logBackoff) = server.state.admission({
            $0.check({ $0.userRefusal(user: user, peer: peerName, now: now) }, logKey: "user \(user)", now: now)
        }) {
            if logBackoff { logger.warning("refused login from \(peerName): \(backedOff) (said once a minute)") }
            server.state.admission { $0.recordFailure(peer: peerName, now: now) }
            server.events.publish(
                .authenticationFailed(user: user, peer: peer, method: request.method, code: .authenticationFailure)
            )
            server.dataPlane?.submit(
                .verdict(key, .reject(.authenticationFailure, message: "Access denied"), addresses: nil)
            )
            return
        }
        let name = server.configuration.name
        if let immediate = server.backend as? any ImmediateAuthenticationBackend {
            finishVerification(request, key: key, decision: immediate.decideNow(request, server: name))
            return
        }
        guard let loop = context?.eventLoop else { return }
        let backend = server.backend
        let peerAddress = peer
        let bound = NIOLoopBound(self, eventLoop: loop)
        let promise = loop.makePromise(of: BackendDecision.self)
        promise.completeWithTask { await backend.decide(request, peer: peerAddress, server: name) }
        promise.futureResult.whenSuccess { decision in
            bound.value.finishVerification(request, key: key, decision: decision)
        }
    }

    private func finishVerification(_ request: AuthenticationRequest, key: SessionKey, decision: BackendDecision) {
        // The call may have gone while the backend thought.
        guard var call = calls[key.callID], call.key == key else { return }
        let now = NIODeadline.now()
        let peerName = peerDescription
        let user = request.userName
        var verdict = decision.verdict
        var addresses: IPCPNegotiator.Role?
        var note = decision.note
        if case .accept = verdict {
            switch server.assignAddress(for: key, restriction: decision.addresses) {
            case .success(let role): addresses = role
            case .failure(let failure):
                // Authenticated, but no address: refuse with a clear reason rather than a link that
                // cannot carry IP.
                verdict = .reject(.authenticationFailure, message: "No address available")
                note = failure.description
            }
        }
        switch verdict {
        case .accept:
            if let full = server.state.admission({ $0.authenticate(peer: peerName) }) {
                logger.warning("refused user \"\(user)\" from \(peerName) after authentication: \(full)")
                verdict = .reject(.authenticationFailure, message: "Server full")
                addresses = nil
                break
            }
            server.state.admission { $0.recordSuccess(user: user, peer: peerName, now: now) }
            call.authenticated = true
            calls[key.callID] = call
            engine.sessionAuthenticated(key.callID)
            releaseUnauthenticatedConnection()
            logger.debug("user \"\(user)\" authenticated with \(request.method)")
        case .reject(let code, _):
            let started = server.state.admission {
                $0.check({ $0.recordFailure(peer: peerName, user: user, now: now) }, logKey: "user \(user)", now: now)
            }
            logger.warning(
                "authentication failed for user \"\(user)\" from \(peerName) (\(request.method)): \(note), E=\(code.rawValue)"
            )
            if let (backoff, log) = started, log { logger.warning("\(backoff)") }
            server.events.publish(.authenticationFailed(user: user, peer: peer, method: request.method, code: code))
        }
        server.dataPlane?.submit(.verdict(key, verdict, addresses: addresses))
    }

}
