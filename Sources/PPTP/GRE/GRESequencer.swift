import NIOCore

/// Settings of the GRE sequencing of one call (RFC 2637 §4.2–§4.4).
public struct GRESequencerConfiguration: Hashable, Sendable {
    /// The receive window we advertise in OCRQ/OCRP/ICRP. We process packets as they come, so
    /// it need not be small; Windows advertises 16384 as a server ([MS-PTPT] §3.2.5.2).
    public var receiveWindow: UInt16
    /// How far ahead of the next expected sequence number a packet may be and still wait in the
    /// reorder buffer; a larger gap is given up at once.
    public var reorderWindow: Int
    /// How long a gap in the sequence is held open for a late packet before it is declared lost.
    public var reorderTimeout: TimeAmount
    /// Packets held at most while waiting for a gap (a bound on memory; ≤ `receiveWindow`).
    public var reorderCapacity: Int
    /// An acknowledgment goes out alone when no data goes back within this time ([MS-PTPT]
    /// §3.1.5.9: Windows uses a fixed 100 ms).
    public var ackTimeout: TimeAmount
    /// Send an acknowledgment at once when this many received packets are unacknowledged, so a
    /// one-way flow keeps the sender's window open (half our window by default).
    public var ackThreshold: Int
    /// Respect the peer's receive window when sending (RFC 2637 §4.2). A peer window of 0 means
    /// no flow control (Windows ignores windows altogether, [MS-PTPT] §3.1.5.7).
    public var respectPeerWindow: Bool
    /// Bounds of the adaptive acknowledgment time-out (RFC 2637 §4.4).
    public var minimumAckTimeout: TimeAmount
    public var maximumAckTimeout: TimeAmount

    public init(
        receiveWindow: UInt16 = 16384,
        reorderWindow: Int = 64,
        reorderTimeout: TimeAmount = .milliseconds(50),
        reorderCapacity: Int = 32,
        ackTimeout: TimeAmount = .milliseconds(100),
        ackThreshold: Int = 16,
        respectPeerWindow: Bool = true,
        minimumAckTimeout: TimeAmount = .milliseconds(100),
        maximumAckTimeout: TimeAmount = .seconds(10)
    ) {
        self.receiveWindow = receiveWindow
        self.reorderWindow = max(1, reorderWindow)
        self.reorderTimeout = reorderTimeout
        self.reorderCapacity = max(0, min(reorderCapacity, max(1, reorderWindow)))
        self.ackTimeout = ackTimeout
        // Acknowledge at least every 16 packets (and at most every half of a small window), so
        // a one-way flow keeps a peer's small window (pptpd: 64) open.
        self.ackThreshold = max(1, min(ackThreshold, max(1, Int(receiveWindow) / 2)))
        self.respectPeerWindow = respectPeerWindow
        self.minimumAckTimeout = minimumAckTimeout
        self.maximumAckTimeout = maximumAckTimeout
    }
}

/// Counters of one call's GRE sequencing.
public struct GRECounters: Hashable, Sendable, Codable {
    /// Data packets received (with the S bit).
    public var received = 0
    /// Delivered to PPP, in order.
    public var delivered = 0
    /// Sequence numbers given up on (never arrived within the reorder time or window).
    public var lost = 0
    /// Packets that arrived out of order and were held for reordering.
    public var reordered = 0
    /// Unauthenticated packets far ahead that did not move the baseline (see `confirmJump`).
    public var unconfirmedJumps = 0
    /// Packets whose sequence number was already delivered or buffered.
    public var duplicates = 0
    /// Packets older than the last delivered one (arrived after their gap was given up).
    public var late = 0
    /// Packets we did not send because the peer's window was full.
    public var droppedForWindow = 0
    /// Acknowledgment-only packets sent.
    public var acksSent = 0
    /// Data packets sent.
    public var sent = 0
    /// Acknowledgment time-outs (RFC 2637 §4.4.2).
    public var ackTimeouts = 0
    public init() {}
}

/// What the receive side decided about a data packet.
public enum GREArrival: Hashable, Sendable {
    /// Process the payload now, and `commit` its sequence number only if it proved valid: the
    /// receive state moves only for packets that proved themselves (DESIGN.md "The endpoint").
    case process(GREPosition)
    /// Out of order: the caller must hand the payload to `hold(_:acknowledgment:)`.
    case hold
    /// Not processed: a duplicate or a late packet.
    case drop(GREDropReason)
}

/// Where a packet to process stands relative to the last one delivered, which says how much
/// proof it needs before it may move the receive state.
public enum GREPosition: Hashable, Sendable {
    /// The next sequence number, or the first packet of the call.
    case next
    /// After a gap of `missing` packets that was given up (the reorder time-out or a full buffer).
    case afterGap(missing: Int)
    /// `distance` ahead, beyond the reorder window: a burst loss, or a forged packet (a blind
    /// attacker who guessed the Call ID picks the sequence number at random, and half of all
    /// numbers are "ahead", or one who replays a sniffed packet with its number moved). Committed
    /// only after `confirmJump` (see there), and with MPPE only for an authenticated payload.
    case jump(distance: Int)
}

/// A packet released from the reorder buffer, to process and then `commit` if it proved valid.
public struct GREReleased<Payload: Sendable>: Sendable {
    public var sequence: UInt32
    public var payload: Payload
    /// The acknowledgment the packet carried, to apply when it is committed.
    public var acknowledgment: UInt32?
    public var position: GREPosition
}

extension GREReleased: Equatable where Payload: Equatable {}
extension GREReleased: Hashable where Payload: Hashable {}

/// Why the receive side dropped a packet.
public enum GREDropReason: Hashable, Sendable {
    case duplicate
    /// Behind the last delivered packet (RFC 2637 §4.3: "MUST be silently discarded").
    case late
}

/// The GRE sequencing of one call (RFC 2637 §4.2–§4.4), both directions: sequence numbers with
/// 32-bit wrap, acknowledgments piggy-backed or sent alone after the ack time-out, the peer's
/// window with the adaptive window and time-out of §4.2/§4.4, and a bounded reorder buffer that
/// releases packets in order, holds a gap for a bounded time, then gives it up.
///
/// Generic over the payload the reorder buffer holds, so the caller chooses its storage.
public struct GRESequencer<Payload: Sendable>: Sendable {
    public let configuration: GRESequencerConfiguration
    public private(set) var counters = GRECounters()

    // MARK: Receive state

    /// The last sequence number delivered in order (nil before the first packet).
    public private(set) var lastDelivered: UInt32?
    /// The acknowledgment we owe: the last delivered sequence number, not yet acknowledged.
    private var ackOwed = false
    private var unackedReceived = 0
    private var ackDeadline: NIODeadline?
    /// Out-of-order packets in sequence order, with their arrival time and acknowledgment.
    private var held: [(sequence: UInt32, arrival: NIODeadline, acknowledgment: UInt32?, payload: Payload)] = []
    private var pendingHold: (sequence: UInt32, now: NIODeadline)?
    /// An unauthenticated packet far ahead that `confirmJump` is waiting to see continued.
    private var jumpCandidate: UInt32?
    private var jumpCandidateHandedOn = false

    // MARK: Send state

    /// The next sequence number to send (RFC 2637 §4.1: "set to zero at session startup").
    public private(set) var nextSequence: UInt32 = 0
    /// The highest acknowledgment received.
    public private(set) var lastAcknowledged: UInt32?
    /// The peer's receive window (0: no flow control).
    public let peerWindow: UInt16
    /// The current transmit window (RFC 2637 §4.2.1: starts at half the peer's window).
    public private(set) var window: Int
    private var packetsSinceWindowGrowth = 0
    /// Send times of outstanding packets, for round-trip samples (bounded by the window).
    private var sendTimes: [(sequence: UInt32, time: NIODeadline)] = []
    /// RFC 2637 §4.4.1 estimator, in nanoseconds scaled by 8 (alpha 1/8, beta 1/4, chi 4).
    private var scaledRTT: Int64
    private var scaledDeviation: Int64 = 0
    /// The adaptive acknowledgment time-out.
    public private(set) var adaptiveTimeout: TimeAmount
    private var oldestUnackedDeadline: NIODeadline?

    public init(configuration: GRESequencerConfiguration = .init(), peerWindow: UInt16, peerProcessingDelay: UInt16 = 0)
    {
        self.configuration = configuration
        self.peerWindow = peerWindow
        self.window = max(1, Int(peerWindow) / 2)
        // RFC 2637 §4.4: RTT is seeded with the Packet Processing Delay (tenths of a second).
        let seed = TimeAmount.milliseconds(Int64(peerProcessingDelay) * 100)
        self.scaledRTT = seed.nanoseconds * 8
        self.adaptiveTimeout = max(configuration.minimumAckTimeout, min(seed, configuration.maximumAckTimeout))
    }

    /// The earliest time `timeout(now:)` has work: the ack timer, the reorder gap, the
    /// acknowledgment time-out of the oldest outstanding packet.
    public var nextDeadline: NIODeadline? {
        // No array: the data plane asks after every packet (SessionTable.reschedule).
        let reorder = held.first.map { $0.arrival + configuration.reorderTimeout }
        return earliestDeadline(earliestDeadline(ackDeadline, reorder), oldestUnackedDeadline)
    }

    /// Packets held for reordering (bounded by `reorderCapacity`).
    public var heldCount: Int { held.count }

    // MARK: - Receiving

    /// A data packet with sequence number `sequence` arrived. Nothing moves yet: on `.process`
    /// the caller checks the payload and calls `commit` if it proved valid; on `.hold` it passes
    /// the payload to `hold(_:acknowledgment:)` at once.
    public mutating func receive(sequence: UInt32, now: NIODeadline) -> GREArrival {
        counters.received += 1
        guard let last = lastDelivered else { return .process(.next) }
        // RFC 1982-style serial arithmetic over 32 bits.
        let distance = Int32(bitPattern: sequence &- last)
        if distance == 1 { return .process(.next) }
        if distance <= 0 {
            if distance == 0 {
                counters.duplicates += 1
                return .drop(.duplicate)
            }
            counters.late += 1
            return .drop(.late)
        }
        if held.contains(where: { $0.sequence == sequence }) {
            counters.duplicates += 1
            return .drop(.duplicate)
        }
        let beyondWindow = distance > Int32(configuration.reorderWindow)
        // Nothing to wait for: a jump is judged at once. While packets wait for a gap, a far
        // packet waits behind them (bounded by the capacity), so they are judged in order.
        if configuration.reorderCapacity == 0 || (beyondWindow && held.isEmpty) {
            return .process(beyondWindow ? .jump(distance: Int(distance)) : .afterGap(missing: Int(distance) - 1))
        }
        pendingHold = (sequence, now)
        return .hold
    }

    /// Stores the payload of the packet `receive` answered `.hold` for.
    public mutating func hold(_ payload: Payload, acknowledgment: UInt32? = nil) {
        guard let (sequence, now) = pendingHold else { return }
        pendingHold = nil
        let index = held.firstIndex { Int32(bitPattern: $0.sequence &- sequence) > 0 } ?? held.endIndex
        held.insert((sequence, now, acknowledgment, payload), at: index)
        counters.reordered += 1
    }

    /// Forgets the packet `receive` answered `.hold` for: it was refused before it was stored.
    public mutating func discardHeld() {
        pendingHold = nil
    }

    /// The next held packet to process, if any: the next in sequence, or the first after a gap
    /// that has waited `reorderTimeout` or that a full buffer gives up. Call until nil after every
    /// `commit`, `hold` and `timeout`; commit each one that proves valid.
    public mutating func nextReleased(now: NIODeadline) -> GREReleased<Payload>? {
        guard let first = held.first else { return nil }
        let distance = lastDelivered.map { Int(Int32(bitPattern: first.sequence &- $0)) } ?? 1
        let gapExpired = now >= first.arrival + configuration.reorderTimeout
        guard distance == 1 || gapExpired || held.count > configuration.reorderCapacity else { return nil }
        held.removeFirst()
        guard distance > 0 else {
            // Overtaken by a packet committed since (a jump): as late as any other.
            counters.late += 1
            return nextReleased(now: now)
        }
        let position: GREPosition =
            distance == 1
            ? .next
            : distance > configuration.reorderWindow ? .jump(distance: distance) : .afterGap(missing: distance - 1)
        return GREReleased(
            sequence: first.sequence,
            payload: first.payload,
            acknowledgment: first.acknowledgment,
            position: position
        )
    }

    /// The packet `sequence` (from `receive` or `nextReleased`) proved valid: it is delivered,
    /// the sequence numbers skipped to reach it are counted lost, and an acknowledgment is owed.
    public mutating func commit(_ sequence: UInt32, now: NIODeadline) {
        if let last = lastDelivered {
            let distance = Int(Int32(bitPattern: sequence &- last))
            guard distance > 0 else { return }
            counters.lost += distance - 1
            // The jump's first packet was delivered before this one confirmed the jump.
            if let candidate = jumpCandidate, jumpCandidateHandedOn,
                Int32(bitPattern: candidate &- last) > 0, Int32(bitPattern: sequence &- candidate) > 0
            {
                counters.lost -= 1
            }
        }
        deliver(sequence, now: now)
    }

    /// Takes `sequence` as the last delivered packet although it is not ahead of it: the caller
    /// proved that the packet is newer than its number says (a fresh MPPE coherency count after a
    /// replay moved the baseline ahead; `TunnelSession.freshBehind`).
    public mutating func rebase(_ sequence: UInt32, now: NIODeadline) {
        deliver(sequence, now: now)
    }

    /// `sequence` is the last delivered packet from now on, and an acknowledgment is owed.
    private mutating func deliver(_ sequence: UInt32, now: NIODeadline) {
        lastDelivered = sequence
        jumpCandidate = nil
        counters.delivered += 1
        ackOwed = true
        unackedReceived += 1
        if ackDeadline == nil { ackDeadline = now + configuration.ackTimeout }
    }

    /// Whether an unauthenticated but well-formed packet `sequence`, a `.jump` ahead, may move
    /// the baseline: only when it continues an earlier such packet (within the reorder window
    /// after it), so that one packet alone never does. Otherwise it becomes that earlier packet.
    /// A session with MPPE asks for authenticated payloads (a replayed one decrypts too); there a
    /// control frame never proves a jump.
    ///
    /// `handedOn`: the caller delivers this packet's payload even if the jump is not confirmed
    /// (an authenticated one), so it is not counted as lost when a later packet confirms the jump.
    public mutating func confirmJump(_ sequence: UInt32, handedOn: Bool = false) -> Bool {
        if let candidate = jumpCandidate {
            let distance = Int32(bitPattern: sequence &- candidate)
            if distance > 0 && distance <= Int32(configuration.reorderWindow) { return true }
        }
        jumpCandidate = sequence
        jumpCandidateHandedOn = handedOn
        counters.unconfirmedJumps += 1
        return false
    }

    /// The acknowledgment number to piggy-back on an outgoing packet, if one is owed. Taking it
    /// counts as sending it.
    public mutating func takeAcknowledgment() -> UInt32? {
        guard ackOwed, let last = lastDelivered else { return nil }
        ackOwed = false
        unackedReceived = 0
        ackDeadline = nil
        return last
    }

    /// Whether enough packets are unacknowledged that an ack should go out now.
    public var shouldAcknowledgeNow: Bool { ackOwed && unackedReceived >= configuration.ackThreshold }

    // MARK: - Sending

    /// Whether a data packet may be sent now (the peer's window, RFC 2637 §4.2).
    public var windowIsOpen: Bool {
        guard configuration.respectPeerWindow, peerWindow > 0 else { return true }
        return outstanding < window
    }

    /// Packets sent and not yet acknowledged.
    public var outstanding: Int {
        guard let lastAcknowledged else { return Int(nextSequence) }
        return Int(Int32(bitPattern: nextSequence &- lastAcknowledged &- 1)).clamped(0, Int(Int32.max))
    }

    /// Numbers the next data packet: its sequence number and the acknowledgment to piggy-back.
    /// Nil when the peer's window is full: the packet is dropped (and counted), as RFC 2637
    /// §4.2.4 expects of a sender whose buffer is full.
    public mutating func sequenceNextPacket(now: NIODeadline) -> (sequence: UInt32, acknowledgment: UInt32?)? {
        guard windowIsOpen else {
            counters.droppedForWindow += 1
            return nil
        }
        return numberPacket(now: now)
    }

    /// Numbers a packet that goes out whatever the window: PPP control frames, so that
    /// negotiation and keepalives never stall behind data.
    public mutating func sequenceNextPacketIgnoringWindow(
        now: NIODeadline
    ) -> (sequence: UInt32, acknowledgment: UInt32?) {
        numberPacket(now: now)
    }

    private mutating func numberPacket(now: NIODeadline) -> (sequence: UInt32, acknowledgment: UInt32?) {
        let sequence = nextSequence
        nextSequence &+= 1
        counters.sent += 1
        if configuration.respectPeerWindow && peerWindow > 0 {
            if sendTimes.count >= Int(peerWindow) { sendTimes.removeFirst() }
            sendTimes.append((sequence, now))
            if oldestUnackedDeadline == nil { oldestUnackedDeadline = now + adaptiveTimeout }
        }
        return (sequence, takeAcknowledgment())
    }

    /// An acknowledgment arrived (on a data packet or alone).
    public mutating func receiveAcknowledgment(_ acknowledgment: UInt32, now: NIODeadline) {
        if let last = lastAcknowledged, Int32(bitPattern: acknowledgment &- last) <= 0 { return }
        // Ignore an acknowledgment of something never sent.
        guard Int32(bitPattern: acknowledgment &- nextSequence) < 0 else { return }
        let previous = lastAcknowledged
        lastAcknowledged = acknowledgment
        // RFC 2637 §4.2.5: the sample uses the send time of the highest acknowledged packet.
        if let index = sendTimes.lastIndex(where: { $0.sequence == acknowledgment }) {
            updateEstimate(sample: now - sendTimes[index].time)
        }
        sendTimes.removeAll { Int32(bitPattern: $0.sequence &- acknowledgment) <= 0 }
        // RFC 2637 §4.2.3: a window's worth acknowledged without time-out opens it by one.
        // Our first sequence number is 0, so "nothing acknowledged yet" is 0 - 1.
        let acknowledgedNow = Int(Int32(bitPattern: acknowledgment &- (previous ?? UInt32.max)))
        packetsSinceWindowGrowth += max(0, acknowledgedNow)
        if packetsSinceWindowGrowth >= window && window < Int(peerWindow) {
            window += 1
            packetsSinceWindowGrowth = 0
        }
        oldestUnackedDeadline = sendTimes.first.map { $0.time + adaptiveTimeout }
    }

    /// RFC 2637 §4.4.1, scaled by 8 so the gains are shifts.
    private mutating func updateEstimate(sample: TimeAmount) {
        let scaledSample = sample.nanoseconds * 8
        let difference = scaledSample - scaledRTT
        scaledRTT += difference >> 3  // alpha = 1/8
        scaledDeviation += (abs(difference) - scaledDeviation) >> 2  // beta = 1/4
        let timeout = TimeAmount.nanoseconds((scaledRTT + 4 * scaledDeviation) / 8)  // chi = 4
        adaptiveTimeout = max(configuration.minimumAckTimeout, min(timeout, configuration.maximumAckTimeout))
    }

    // MARK: - Timers

    /// What a timer asks for.
    public enum TimerAction: Hashable, Sendable {
        /// Send an acknowledgment-only packet with this number.
        case sendAcknowledgment(UInt32)
    }

    /// Runs the timers that are due: the ack timer and the ack time-out; then `nextReleased`
    /// gives up a reorder gap that is due.
    public mutating func timeout(now: NIODeadline) -> [TimerAction] {
        // A gap that has waited long enough is given up by `nextReleased`, which the caller
        // drains after this.
        var actions: [TimerAction] = []
        if let deadline = ackDeadline, now >= deadline, let ack = takeAcknowledgment() {
            counters.acksSent += 1
            actions.append(.sendAcknowledgment(ack))
        }
        if let deadline = oldestUnackedDeadline, now >= deadline {
            // RFC 2637 §4.2.2 and §4.4.2: halve the window (rounding up, at least one), back off
            // the time-out, and since nothing is retransmitted, forget the outstanding packets.
            counters.ackTimeouts += 1
            window = max(1, (window + 1) / 2)
            packetsSinceWindowGrowth = 0
            adaptiveTimeout = min(adaptiveTimeout * 2, configuration.maximumAckTimeout)
            lastAcknowledged = nextSequence &- 1
            sendTimes.removeAll()
            oldestUnackedDeadline = nil
        }
        return actions
    }

    /// Counts an acknowledgment-only packet the caller sent (after `takeAcknowledgment`).
    public mutating func countAcknowledgmentSent() {
        counters.acksSent += 1
    }
}

/// The earlier of two optional deadlines; nil when both are.
@inline(__always)
func earliestDeadline(_ a: NIODeadline?, _ b: NIODeadline?) -> NIODeadline? {
    guard let a else { return b }
    guard let b else { return a }
    return min(a, b)
}

extension Int {
    fileprivate func clamped(_ low: Int, _ high: Int) -> Int { Swift.min(Swift.max(self, low), high) }
}
