import MSCrypto
import NIOCore
import PPP

/// What a tunnel session asks of the transport and the layer above.
public enum TunnelAction: Hashable, Sendable {
    /// Send this GRE packet (the IP payload for protocol 47) to the peer.
    case sendGRE(ByteBuffer)
    /// A network packet released from the reorder buffer (the in-order fast path returns packets
    /// in place instead): write it to the TUN device.
    case deliver(PPPProtocolNumber, [UInt8])
    /// Decide this authentication request, answer with `receive(verdict:now:)`.
    case verify(AuthenticationRequest)
    /// Something happened in PPP.
    case ppp(PPPSessionEvent)
    /// The peer's traffic did something worth a log line (once per session and kind).
    case anomaly(TunnelAnomaly)
}

/// What a tunnel noticed in the traffic it received: forgeries, or a peer (or path) gone wrong.
/// Reported once per session and kind; the counters have the numbers.
public enum TunnelAnomaly: Hashable, Sendable, CustomStringConvertible {
    /// A GRE data packet was refused before it touched any receive state: a frame not allowed in
    /// the session's state, or an MPPE frame whose plaintext is no packet (a forgery, or noise).
    case refusedFrame(PPPDropReason)
    /// A packet this far ahead in sequence could not prove itself, so the sequence stayed.
    case unprovenSequenceJump(distance: Int)

    public var description: String {
        switch self {
        case .refusedFrame(let reason):
            return
                "GRE packet refused before it touched the session: \(reason) (forged or corrupt; further ones are counted, not logged)"
        case .unprovenSequenceJump(let distance):
            return
                "GRE sequence number \(distance) ahead without a valid payload: ignored (forged, or a burst loss; further ones are counted, not logged)"
        }
    }

    fileprivate var bit: UInt8 {
        switch self {
        case .refusedFrame: return 1
        case .unprovenSequenceJump: return 2
        }
    }
}

/// A network packet found in place by `receiveGRE`.
public enum TunnelPacket: Hashable, Sendable {
    case ipv4(Range<Int>)
    case ipv6(Range<Int>)
}

/// Counters of one tunnel session beyond its GRE call (`GRECall.counters`, the sequencer's) and PPP.
public struct TunnelCounters: Hashable, Sendable {
    /// PPP data frames dropped (see `PPPDataPath.counters` for the reasons).
    public var droppedFrames = 0
    public var lastDropReason: PPPDropReason?
    /// GRE data packets refused before they touched any receive state (included in `droppedFrames`
    /// when the data path saw them): forged, corrupt, or not allowed in the session's state.
    public var refusedFrames = 0
    /// Packets that did not prove themselves enough for where they were in sequence (a far jump
    /// without an authenticated payload, a frame after a gap that could not be checked).
    public var unprovenPackets = 0
    /// MPPE frames further ahead than `KeyChangeBudget` let us try (included in `refusedFrames`).
    public var refusedUntried = 0
    /// Stateless key changes spent on frames that were then refused.
    public var keyChangesOnRefused = 0
    /// Packets the sequencer called late or duplicate that carried a fresh MPPE coherency count:
    /// delivered, and the GRE sequence based on them again (a replay had moved it ahead).
    public var rebasedOnFreshFrames = 0
    public init() {}
}

/// One PPTP call's GRE (`GRECall`) with the PPP session it terminates and the data path between
/// them (PPP ⇄ MPPE ⇄ GRE): the sans-I/O engine the client and the server drive (DESIGN.md,
/// "TunnelSession"). A relay, which only carries frames, drives a `GRECall` alone.
public struct TunnelSession: Sendable {
    public private(set) var gre: GRECall
    public private(set) var ppp: PPPSession
    public private(set) var counters = TunnelCounters()
    /// `ppp.nextDeadline`, taken after every call into PPP's control plane (they all go through
    /// `wrap`). The data plane asks `nextDeadline` after every packet and timer, and
    /// `PPPSession.nextDeadline` copies its optional sub-machines (`authenticator?.…`) to read
    /// their deadlines: about 7 % of a server's CPU with 100 000 idle sessions. Data packets
    /// (`ppp.dataPath`) never change PPP's timers.
    private var pppDeadline: NIODeadline?
    /// `TunnelAnomaly.bit`s already reported.
    private var reportedAnomalies: UInt8 = 0
    /// Bounds the MPPE key changes forged frames can cost (issue 18: bounded work per packet).
    private var keyChanges = KeyChangeBudget()

    /// Headroom `send` needs before the payload: the largest GRE header and PPP/MPPE header.
    public static let headroom = GREHeader.maximumLength + PPPDataPath.maximumHeaderLength

    public init(
        call: CallInformation,
        gre: GRESequencerConfiguration,
        ppp: PPPSessionConfiguration,
        random: any RandomNumberGenerator & Sendable
    ) {
        self.gre = GRECall(call: call, configuration: gre)
        self.ppp = PPPSession(configuration: ppp, random: random)
        self.pppDeadline = self.ppp.nextDeadline
    }

    public var call: CallInformation { gre.call }
    public var sequencer: GRESequencer<[UInt8]> { gre.sequencer }

    public var nextDeadline: NIODeadline? {
        earliestDeadline(gre.sequencer.nextDeadline, pppDeadline)
    }

    public var isDown: Bool { ppp.downReason != nil }

    // MARK: - Control plane

    /// The call is connected: start PPP.
    public mutating func start(now: NIODeadline) -> [TunnelAction] {
        wrap(ppp.start(now: now), now: now)
    }

    /// Closes the PPP link politely (LCP Terminate).
    public mutating func close(_ reason: LocalCloseReason, now: NIODeadline) -> [TunnelAction] {
        wrap(ppp.close(reason, now: now), now: now)
    }

    /// The call is gone (Call-Disconnect-Notify, control connection closed).
    public mutating func callCleared(now: NIODeadline) -> [TunnelAction] {
        wrap(ppp.lowerLayerDown(now: now), now: now)
    }

    /// Sets the addresses IPCP will use; see `PPPSession.assignAddresses`.
    @discardableResult
    public mutating func assignAddresses(_ role: IPCPNegotiator.Role) -> Bool {
        defer { pppDeadline = ppp.nextDeadline }
        return ppp.assignAddresses(role)
    }

    public mutating func receive(verdict: AuthenticationVerdict, now: NIODeadline) -> [TunnelAction] {
        wrap(ppp.receive(verdict: verdict, now: now), now: now)
    }

    public mutating func probeLiveness(now: NIODeadline) -> [TunnelAction] {
        wrap(ppp.probeLiveness(now: now), now: now)
    }

    public mutating func timeout(now: NIODeadline) -> [TunnelAction] {
        var actions: [TunnelAction] = []
        if let deadline = gre.sequencer.nextDeadline, now >= deadline {
            for action in gre.sequencer.timeout(now: now) {
                switch action {
                case .sendAcknowledgment(let ack): actions.append(.sendGRE(gre.acknowledgmentPacket(ack)))
                }
            }
            drainReleased(now: now, into: &actions)
        }
        if let deadline = pppDeadline, now >= deadline {
            actions += wrap(ppp.timeout(now: now), now: now)
        }
        return actions
    }

    /// Every call into PPP's control plane ends here (its result is the argument), so this is where
    /// the cached deadline is refreshed.
    private mutating func wrap(_ results: [PPPSessionAction], now: NIODeadline) -> [TunnelAction] {
        pppDeadline = ppp.nextDeadline
        var actions: [TunnelAction] = []
        for result in results {
            switch result {
            case .send(let frame): actions.append(.sendGRE(controlPacket(frame, now: now)))
            case .verify(let request): actions.append(.verify(request))
            case .event(let event): actions.append(.ppp(event))
            }
        }
        return actions
    }

    /// A PPP control frame in a GRE data packet.
    private mutating func controlPacket(_ frame: PPPFrame, now: NIODeadline) -> ByteBuffer {
        gre.packet(carrying: frame.serialized(), now: now)
    }

    /// The header of an acknowledgment-only packet for `ack` (12 octets, nothing follows it): for a
    /// shell that writes it straight into its send batch (see `receiveGRE(…, deferAcknowledgment:)`).
    public func acknowledgmentHeader(_ ack: UInt32) -> GREHeader { gre.acknowledgmentHeader(ack) }

    /// The acknowledgment to send at once, if one is due (see `GRECall.takeDueAcknowledgment`).
    public mutating func takeDueAcknowledgment() -> UInt32? { gre.takeDueAcknowledgment() }

    // MARK: - Data path

    /// Encapsulates the network packet in `buffer[payload]` for the peer: PPP, MPPE and GRE
    /// headers are written in front of it (`headroom` octets are needed) and the payload is
    /// encrypted in place. Returns the range of the GRE packet, or why it was dropped.
    public mutating func send(
        _ protocolNumber: PPPProtocolNumber,
        in buffer: UnsafeMutableRawBufferPointer,
        payload: Range<Int>,
        now: NIODeadline
    ) -> Result<Range<Int>, PPPDropReason> {
        // Check the window before MPPE consumes a coherency count for a packet never sent.
        guard gre.sequencer.windowIsOpen else {
            _ = gre.sequencer.sequenceNextPacket(now: now)  // counts the drop
            return .failure(.peerWindowFull)
        }
        let frameStart: Int
        switch ppp.dataPath.encapsulate(protocolNumber, in: buffer, payload: payload) {
        case .success(let start): frameStart = start
        case .failure(let reason): return .failure(reason)
        }
        guard let packet = gre.encapsulate(buffer, frame: frameStart..<payload.upperBound, now: now) else {
            return .failure(frameStart < GREHeader.maximumLength ? .tooLarge(payload.count) : .peerWindowFull)
        }
        return .success(packet)
    }

    /// A GRE packet from the peer (the IP payload of protocol 47), decrypted in place.
    ///
    /// Returns the network packet found in place, if any, and actions: control frames to send,
    /// PPP events, packets released from the reorder buffer, an acknowledgment to send at once.
    ///
    /// With `deferAcknowledgment` the due acknowledgment is left out of the actions, and the
    /// caller takes it with `takeDueAcknowledgment()` and sends `acknowledgmentHeader(_:)` itself:
    /// on a one-way flow every 16th packet is followed by one, and as a `.sendGRE` action it costs
    /// three heap allocations (the buffer, the action array, its growth).
    public mutating func receiveGRE(
        _ buffer: UnsafeMutableRawBufferPointer,
        now: NIODeadline,
        deferAcknowledgment: Bool = false
    ) -> (packet: TunnelPacket?, actions: [TunnelAction]) {
        guard let data = gre.accept(UnsafeRawBufferPointer(buffer), now: now) else { return (nil, []) }
        let sequence = data.sequence
        let frame = data.frame
        var actions: [TunnelAction] = []
        var packet: TunnelPacket?
        switch gre.sequencer.receive(sequence: sequence, now: now) {
        case .process(let position):
            packet = process(
                buffer,
                frame: frame,
                sequence: sequence,
                acknowledgment: data.acknowledgment,
                position: position,
                now: now,
                into: &actions
            )
            drainReleased(now: now, into: &actions)
        case .hold:
            // A frame not allowed in the session's state does not wait in the reorder buffer (the
            // ones processed at once are judged by `decapsulate` before anything moves).
            if let reason = ppp.dataPath.screen(UnsafeRawBufferPointer(rebasing: buffer[frame])) {
                gre.sequencer.discardHeld()
                refuse(reason, into: &actions)
                break
            }
            gre.sequencer.hold(
                Array(UnsafeRawBufferPointer(rebasing: buffer[frame])),
                acknowledgment: data.acknowledgment
            )
            drainReleased(now: now, into: &actions)
        case .drop:
            packet = freshBehind(buffer, frame: frame, sequence: sequence, now: now, into: &actions)
        }
        if !deferAcknowledgment, let ack = takeDueAcknowledgment() {
            actions.append(.sendGRE(gre.acknowledgmentPacket(ack)))
        }
        return (packet, actions)
    }

    /// How much a processed frame proved about itself.
    private enum Proof {
        /// An MPPE frame whose plaintext is a plausible packet: only the peer's key makes one.
        case authenticated
        /// A well-formed control frame, or a network frame in a session without MPPE.
        case wellFormed
        /// A frame a real peer sends at times that cannot be checked (stateful MPPE after a loss).
        case unproven
        /// Not from the peer as the session stands.
        case refuted(PPPDropReason)
    }

    /// Processes one frame in sequence order: the receive state (the GRE sequence and the
    /// acknowledgment it carries) moves only when the frame proved enough for its position
    /// (DESIGN.md "The endpoint": a packet changes the receive state only after it proved itself).
    private mutating func process(
        _ buffer: UnsafeMutableRawBufferPointer,
        frame: Range<Int>,
        sequence: UInt32,
        acknowledgment: UInt32?,
        position: GREPosition,
        now: NIODeadline,
        into actions: inout [TunnelAction]
    ) -> TunnelPacket? {
        // MPPE is decrypted tentatively in `decapsulate`: its key moves only for a plausible plaintext,
        // after at most as many key changes as the frame's place in sequence and the budget allow.
        let greDistance: Int
        switch position {
        case .next: greDistance = 1
        case .afterGap(let missing): greDistance = missing + 1
        case .jump(let distance): greDistance = distance
        }
        let allowance = keyChanges.allowance(greDistance: greDistance, now: now)
        let result = ppp.dataPath.decapsulate(buffer, frame: frame, maximumKeyChanges: allowance)
        chargeKeyChanges(for: result)
        if case .dropped(.mppe(.tooFarAhead(_, let distance)), _) = result, distance > allowance {
            keyChanges.refusedWithoutTrying()
            counters.refusedUntried += 1
        }
        let proof: Proof
        switch result {
        case .ipv4, .ipv6:
            // With MPPE up every network frame was decrypted (plain ones are screened out).
            proof = ppp.dataPath.decrypts ? .authenticated : .wellFormed
        case .control:
            proof = .wellFormed
        case .dropped(let reason, _):
            proof = reason.refutesFrame ? .refuted(reason) : .unproven
        }
        let admitted: Bool
        // Handed on without moving the receive state (an authenticated jump, see below).
        var passedOn = false
        switch (proof, position) {
        case (.refuted(let reason), _):
            refuse(reason, into: &actions)
            admitted = false
        case (.authenticated, .jump(let distance)):
            // The plaintext is the peer's, but not necessarily sent now: a sniffed packet replayed
            // with its sequence number moved far ahead would make every later packet "late" (found
            // by the FuzzTunnel target). Its payload is handed on; the sequence moves only when the
            // next packet continues the jump, so a real burst loss still costs nothing.
            admitted = gre.sequencer.confirmJump(sequence, handedOn: true)
            passedOn = !admitted
            if !admitted { unproven(.unprovenSequenceJump(distance: distance), into: &actions) }
        case (.authenticated, _), (.wellFormed, .next), (.wellFormed, .afterGap), (.unproven, .next):
            admitted = true
        case (.wellFormed, .jump(let distance)):
            // Without MPPE nothing can be authenticated: two packets in a row must agree. With MPPE
            // only an authenticated payload proves a jump (a control frame is easy to forge).
            admitted = !ppp.dataPath.decrypts && gre.sequencer.confirmJump(sequence)
            if !admitted { unproven(.unprovenSequenceJump(distance: distance), into: &actions) }
        case (.unproven, .jump(let distance)):
            admitted = false
            unproven(.unprovenSequenceJump(distance: distance), into: &actions)
        case (.unproven, .afterGap):
            admitted = false
            counters.unprovenPackets += 1
        }
        if admitted {
            gre.sequencer.commit(sequence, now: now)
            if let acknowledgment { gre.sequencer.receiveAcknowledgment(acknowledgment, now: now) }
        }
        switch result {
        case .ipv4(let range): return admitted || passedOn ? .ipv4(range) : nil
        case .ipv6(let range): return admitted || passedOn ? .ipv6(range) : nil
        case .control(let protocolNumber, let range):
            guard admitted else { return nil }
            let information = Array(UnsafeRawBufferPointer(rebasing: buffer[range]))
            actions += wrap(ppp.receive(protocolNumber, information: information, now: now), now: now)
            return nil
        case .dropped(let reason, let resetRequested):
            counters.droppedFrames += 1
            counters.lastDropReason = reason
            // The stateful decryptor waits for a FLUSHED packet now, whatever the sequencer thinks.
            if resetRequested { actions += wrap(ppp.requestEncryptionReset(now: now), now: now) }
            return nil
        }
    }

    /// A packet the sequencer calls late or duplicate. With stateless MPPE its coherency count,
    /// which nobody without the key can make fresh, outranks the GRE sequence number, which anybody
    /// can change: a frame that decrypts to a plausible packet with a count *newer* than any
    /// delivered is new, whatever its number says. It is delivered and the sequence is based on it
    /// again. Found by FuzzTunnel: a lost packet replayed with its number moved a few ahead made
    /// the genuine packets up to that number "late" (dropped), and two such replays in a row moved
    /// the baseline far ahead for good. Genuinely late packets (GRE reordering) carry older counts
    /// and are dropped as before.
    private mutating func freshBehind(
        _ buffer: UnsafeMutableRawBufferPointer,
        frame: Range<Int>,
        sequence: UInt32,
        now: NIODeadline,
        into actions: inout [TunnelAction]
    ) -> TunnelPacket? {
        guard ppp.dataPath.decrypts, ppp.dataPath.decryptor?.mode == .stateless else { return nil }
        let lateBefore = ppp.dataPath.counters.lateDecrypted
        let allowance = keyChanges.allowance(greDistance: 1, now: now)
        let result = ppp.dataPath.decapsulate(buffer, frame: frame, maximumKeyChanges: allowance)
        chargeKeyChanges(for: result)
        let packet: TunnelPacket
        switch result {
        case .ipv4(let range): packet = .ipv4(range)
        case .ipv6(let range): packet = .ipv6(range)
        default: return nil
        }
        guard ppp.dataPath.counters.lateDecrypted == lateBefore else { return nil }
        gre.sequencer.rebase(sequence, now: now)
        counters.rebasedOnFreshFrames += 1
        return packet
    }

    /// Charges the key-change budget for an MPPE frame refused after its key changes were made.
    private mutating func chargeKeyChanges(for result: PPPDecapsulation) {
        guard case .dropped(.mppe(.implausiblePlaintext), _) = result else { return }
        let spent = ppp.dataPath.lastKeyChanges
        keyChanges.charge(spent)
        counters.keyChangesOnRefused += spent
    }

    private mutating func refuse(_ reason: PPPDropReason, into actions: inout [TunnelAction]) {
        counters.refusedFrames += 1
        counters.droppedFrames += 1
        counters.lastDropReason = reason
        report(.refusedFrame(reason), into: &actions)
    }

    private mutating func unproven(_ anomaly: TunnelAnomaly, into actions: inout [TunnelAction]) {
        counters.unprovenPackets += 1
        report(anomaly, into: &actions)
    }

    private mutating func report(_ anomaly: TunnelAnomaly, into actions: inout [TunnelAction]) {
        guard reportedAnomalies & anomaly.bit == 0 else { return }
        reportedAnomalies |= anomaly.bit
        actions.append(.anomaly(anomaly))
    }

    private mutating func drainReleased(now: NIODeadline, into actions: inout [TunnelAction]) {
        while let released = gre.sequencer.nextReleased(now: now) {
            var payload = released.payload
            let result = payload.withUnsafeMutableBytes {
                process(
                    $0,
                    frame: 0..<$0.count,
                    sequence: released.sequence,
                    acknowledgment: released.acknowledgment,
                    position: released.position,
                    now: now,
                    into: &actions
                )
            }
            switch result {
            case .ipv4(let range): actions.append(.deliver(.ipv4, Array(payload[range])))
            case .ipv6(let range): actions.append(.deliver(.ipv6, Array(payload[range])))
            case nil: break
            }
        }
    }
}
