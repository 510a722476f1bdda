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
