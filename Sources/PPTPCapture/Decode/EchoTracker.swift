import NIOCore
import PPP
import PPTP

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
