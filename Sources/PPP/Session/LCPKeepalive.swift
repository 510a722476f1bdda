import NIOCore

/// LCP echo keepalive (RFC 1661 §5.8; pppd's lcp-echo-interval and lcp-echo-failure): an
/// Echo-Request every `interval` while LCP is open, and the link declared dead after `failures`
/// requests in a row go unanswered. Any frame from the peer proves it alive (pppd's
/// lcp-echo-adaptive). A sans-I/O part of `PPPSession`: it says when to send and what; the session
/// builds the frame.
struct LCPKeepalive: Sendable {
    let interval: TimeAmount?
    let failures: Int
    /// When the next request is due (nil: not running).
    private(set) var nextDeadline: NIODeadline?
    private(set) var unanswered = 0
    private var identifier: UInt8 = 0
    /// Send times of the last requests, for the round trip of their replies.
    private var sentAt: [UInt8: NIODeadline] = [:]

    init(interval: TimeAmount?, failures: Int) {
        self.interval = interval
        self.failures = failures
    }

    /// LCP opened: the first request goes one interval from now.
    mutating func start(now: NIODeadline) {
        if let interval { nextDeadline = now + interval }
    }

    /// LCP closed, or the link is down.
    mutating func stop() {
        nextDeadline = nil
    }

    /// A frame arrived from the peer.
    mutating func peerIsAlive() {
        unanswered = 0
    }

    /// What is due at `now`: nothing, an Echo-Request with this identifier, or giving up.
    enum Due: Equatable {
        case nothing
        case sendRequest(identifier: UInt8)
        case giveUp(unanswered: Int)
    }

    mutating func due(now: NIODeadline) -> Due {
        guard let deadline = nextDeadline, now >= deadline else { return .nothing }
        guard unanswered < failures else {
            // pppd: "No response to N echo-requests", then LCP Terminate.
            nextDeadline = nil
            return .giveUp(unanswered: unanswered)
        }
        return .sendRequest(identifier: request(now: now))
    }

    /// Numbers a request sent now (on schedule, or asked for by `PPPSession.probeLiveness`).
    mutating func request(now: NIODeadline) -> UInt8 {
        identifier &+= 1
        unanswered += 1
        sentAt[identifier] = now
        if sentAt.count > 8, let oldest = sentAt.min(by: { $0.value < $1.value })?.key { sentAt[oldest] = nil }
        if let interval { nextDeadline = now + interval }
        return identifier
    }

    /// An Echo-Reply with `identifier` arrived: its round trip, if it answers one of ours.
    mutating func replyReceived(identifier: UInt8, now: NIODeadline) -> TimeAmount? {
        unanswered = 0
        return sentAt.removeValue(forKey: identifier).map { now - $0 }
    }
}
