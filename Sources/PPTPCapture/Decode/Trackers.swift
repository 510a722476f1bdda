import NIOCore
import PPP
import PPTP

/// Follows the option negotiation of one control protocol (RFC 1661 §5.1–§5.4) from both sides, to report the
/// options in force: each side's last Configure-Request that the other side acknowledged.
struct NegotiationTracker: Sendable {
    /// A request as sent.
    struct Request: Sendable {
        var identifier: UInt8
        var options: [ConfigurationOption]
    }

    let protocolName: String
    private(set) var lastRequest: [PeerSide: Request] = [:]
    /// The acknowledged requests, raw (kept after the link goes down: they are what was negotiated).
    private(set) var acknowledged: [PeerSide: [ConfigurationOption]] = [:]
    /// The acknowledged requests as pppd prints their options.
    private(set) var acknowledgedText: [PeerSide: [String]] = [:]
    /// Both sides' requests are acknowledged and no new request has been sent since.
    private(set) var isOpen = false
    /// How many times the protocol reached the opened state.
    private(set) var openings = 0
    private(set) var requests = 0
    private(set) var notes: [String] = []

    init(protocolName: String) {
        self.protocolName = protocolName
    }

    /// A Configure-Request from `side`. RFC 1661 §4: a request in the Opened state restarts negotiation.
    mutating func request(from side: PeerSide, identifier: UInt8, options: [ConfigurationOption]) {
        requests += 1
        lastRequest[side] = Request(identifier: identifier, options: options)
        isOpen = false
    }

    /// A Configure-Ack from `side`, acknowledging the other side's request. Returns true when this opens the
    /// protocol (both requests acknowledged).
    mutating func acknowledge(
        from side: PeerSide,
        identifier: UInt8,
        options: [ConfigurationOption],
        text: [String]
    ) -> Bool {
        // RFC 1661 §5.2: the Ack's Identifier and options must match the request; a mismatched Ack is invalid
        // and silently discarded by the peer, so it is only noted.
        if let request = lastRequest[side.other], request.identifier != identifier {
            notes.append("\(side) sent a Configure-Ack id=0x\(hex(identifier, 1)) for no outstanding request")
            return false
        }
        acknowledged[side.other] = options
        acknowledgedText[side.other] = text
        lastRequest[side.other] = nil
        if acknowledged[side] != nil && lastRequest[side] == nil && !isOpen {
            isOpen = true
            openings += 1
            return true
        }
        return false
    }

    /// A Configure-Nak or Configure-Reject from `side`.
    mutating func refuse(from side: PeerSide, rejected: Bool, text: [String]) {
        let verb = rejected ? "rejected" : "suggested instead (Nak)"
        notes.append("\(side) \(verb) \(text.joined(separator: " "))")
    }

    /// A free-form note.
    mutating func note(_ text: String) {
        notes.append(text)
    }

    /// The report.
    var report: NegotiationReport {
        NegotiationReport(
            protocolName: protocolName,
            clientOptions: acknowledgedText[.client],
            serverOptions: acknowledgedText[.server],
            opened: acknowledged[.client] != nil && acknowledged[.server] != nil,
            requests: requests,
            notes: notes
        )
    }
}

/// Matches keep-alive requests with their replies: LCP Echo-Request/Reply (RFC 1661 §5.8) or PPTP
/// Echo-Request/Reply (RFC 2637 §2.5, §2.6).
struct EchoTracker: Sendable {
    struct Request: Sendable {
        var side: PeerSide
        var identifier: UInt32
        var time: CaptureTimestamp
        var frame: Int
        var answered = false
    }

    private(set) var requests: [Request] = []

    mutating func request(from side: PeerSide, identifier: UInt32, time: CaptureTimestamp, frame: Int) {
        requests.append(Request(side: side, identifier: identifier, time: time, frame: frame))
    }

    /// A reply from `side`: answers the latest unanswered request of the other side with this identifier.
    mutating func reply(from side: PeerSide, identifier: UInt32) {
        if let index = requests.lastIndex(where: {
            $0.side == side.other && $0.identifier == identifier && !$0.answered
        }) {
            requests[index].answered = true
        }
    }

    /// Unanswered requests of `side` at the very end (after its last answered one).
    func unansweredRun(of side: PeerSide) -> [Request] {
        let mine = requests.filter { $0.side == side }
        guard let lastAnswered = mine.lastIndex(where: \.answered) else { return mine }
        return Array(mine[(lastAnswered + 1)...])
    }

    /// The report; `what` names the keep-alive ("LCP Echo", "PPTP Echo").
    func report(_ what: String) -> EchoReport {
        var report = EchoReport(summary: "")
        for request in requests {
            switch request.side {
            case .client:
                report.clientRequests += 1
                if request.answered { report.clientRequestsAnswered += 1 }
            case .server:
                report.serverRequests += 1
                if request.answered { report.serverRequestsAnswered += 1 }
            }
        }
        let busiest: PeerSide = report.serverRequests >= report.clientRequests ? .server : .client
        let times = requests.filter { $0.side == busiest }.map(\.time)
        if times.count >= 2, let first = times.first, let last = times.last {
            report.intervalSeconds = last.seconds(since: first) / Double(times.count - 1)
        }
        for side in PeerSide.allCases {
            let run = unansweredRun(of: side)
            if run.count > report.unansweredAtEnd {
                report.unansweredAtEnd = run.count
                report.unansweredSender = side
            }
        }
        if requests.isEmpty {
            report.summary = "no \(what) requests"
        } else {
            var parts: [String] = []
            if report.clientRequests > 0 {
                parts.append("client sent \(report.clientRequests), \(report.clientRequestsAnswered) answered")
            }
            if report.serverRequests > 0 {
                parts.append("server sent \(report.serverRequests), \(report.serverRequestsAnswered) answered")
            }
            var text = "\(what): " + parts.joined(separator: "; ")
            if let interval = report.intervalSeconds { text += "; every \(formatSeconds(interval, decimals: 1)) s" }
            if report.unansweredAtEnd > 0, let sender = report.unansweredSender {
                text += "; the last \(report.unansweredAtEnd) from the \(sender) went UNANSWERED"
            }
            report.summary = text
        }
        return report
    }
}

/// Counts GRE sequence numbers of one direction as they arrive (RFC 2637 §4.3): gaps, reordering, duplicates.
struct GRESequenceTracker: Sendable {
    private(set) var report = GRESequenceReport()
    private var missing: Set<UInt32> = []
    /// Gaps larger than this are not tracked number by number (a restart, or a corrupt header).
    private let largestTrackedGap: Int64 = 4096

    mutating func observe(sequence: UInt32?, acknowledgment: UInt32?) {
        if let acknowledgment {
            if let highest = report.highestAcknowledgment {
                if Self.distance(from: highest, to: acknowledgment) > 0 {
                    report.highestAcknowledgment = acknowledgment
                }
            } else {
                report.highestAcknowledgment = acknowledgment
            }
        }
        guard let sequence else { return }
        guard let highest = report.highest else {
            report.first = sequence
            report.highest = sequence
            return
        }
        let distance = Self.distance(from: highest, to: sequence)
        if distance > 0 {
            if distance - 1 <= largestTrackedGap {
                var number = highest &+ 1
                while number != sequence {
                    missing.insert(number)
                    number &+= 1
                }
            }
            report.highest = sequence
        } else if distance == 0 {
            report.duplicates += 1
        } else if missing.remove(sequence) != nil {
            report.reordered += 1
        } else {
            report.duplicates += 1
        }
        report.missing = missing.count
    }

    /// Serial-number distance (RFC 1982): negative when `to` is before `from`.
    static func distance(from: UInt32, to: UInt32) -> Int64 {
        Int64(Int32(bitPattern: to &- from))
    }
}

/// A GRE data packet waiting in a `ReorderBuffer`.
struct HeldGREPacket: Sendable {
    var header: GREHeader
    var payload: ByteBuffer
    var frame: Int
    var time: CaptureTimestamp
}

/// Puts the GRE packets of one direction back into sequence order before PPP sees them, as a PPTP receiver does
/// (RFC 2637 §4.3: "the receiver may choose to buffer out of order packets"; pptpd holds them). A gap is waited
/// for until `window` packets are held or the oldest has waited `timeout` of capture time; then it is given up.
struct ReorderBuffer: Sendable {
    let window: Int
    let timeout: Duration
    private var expected: UInt32?
    private var held: [UInt32: HeldGREPacket] = [:]

    init(window: Int, timeout: Duration) {
        self.window = window
        self.timeout = timeout
    }

    /// Adds a data packet and returns the packets now ready, in order.
    mutating func push(_ packet: HeldGREPacket) -> [HeldGREPacket] {
        guard let sequence = packet.header.sequenceNumber, window > 0 else { return [packet] }
        guard let next = expected else {
            expected = sequence &+ 1
            return [packet]
        }
        let distance = GRESequenceTracker.distance(from: next, to: sequence)
        if distance < 0 {
            // Older than what was released already (a duplicate, or a packet given up on): pass it on, the
            // MPPE decryptor decides what can be done with it.
            return [packet]
        }
        var ready: [HeldGREPacket] = []
        if distance == 0 {
            ready.append(packet)
            expected = sequence &+ 1
            drainConsecutive(into: &ready)
        } else if held[sequence] == nil {
            held[sequence] = packet
        } else {
            ready.append(packet)  // the same number twice while waiting: a duplicate
        }
        // Give up gaps that waited too long or hold too many packets.
        while !held.isEmpty,
            held.count > window || oldestHeldTime.map({ $0.duration(to: packet.time) > timeout }) == true
        {
            skipToOldestHeld()
            drainConsecutive(into: &ready)
        }
        return ready
    }

    /// Everything still held, in order (end of capture).
    mutating func flush() -> [HeldGREPacket] {
        var ready: [HeldGREPacket] = []
        while !held.isEmpty {
            skipToOldestHeld()
            drainConsecutive(into: &ready)
        }
        return ready
    }

    private var oldestHeldTime: CaptureTimestamp? {
        held.values.map(\.time).min()
    }

    private mutating func skipToOldestHeld() {
        guard let next = expected else { return }
        let lowest = held.keys.min {
            GRESequenceTracker.distance(from: next, to: $0) < GRESequenceTracker.distance(from: next, to: $1)
        }
        if let lowest { expected = lowest }
    }

    private mutating func drainConsecutive(into ready: inout [HeldGREPacket]) {
        while let next = expected, let packet = held.removeValue(forKey: next) {
            ready.append(packet)
            expected = next &+ 1
        }
    }
}
