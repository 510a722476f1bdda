import NIOCore
import PPP

/// The server's limits (DESIGN.md "Server": sessions in total and per peer address,
/// authentication failures rate-limited per peer address).
public struct ServerLimits: Hashable, Sendable {
    public var maximumSessions: Int
    public var maximumSessionsPerPeer: Int
    /// Authentication failures allowed per peer address per minute; then its new calls are
    /// refused until the minute has passed.
    public var authenticationFailuresPerMinute: Int
    /// A TCP connection must finish SCCRQ, OCRQ, LCP, authentication, CCP and IPCP within this.
    public var handshakeTimeout: TimeAmount

    public init(
        maximumSessions: Int = 1000,
        maximumSessionsPerPeer: Int = 64,
        authenticationFailuresPerMinute: Int = 5,
        handshakeTimeout: TimeAmount = .seconds(30)
    ) {
        self.maximumSessions = maximumSessions
        self.maximumSessionsPerPeer = maximumSessionsPerPeer
        self.authenticationFailuresPerMinute = authenticationFailuresPerMinute
        self.handshakeTimeout = handshakeTimeout
    }
}

/// Why a call was refused before any PPP ran.
public enum AdmissionRefusal: Hashable, Sendable, CustomStringConvertible {
    case serverFull(limit: Int)
    case peerFull(peer: String, limit: Int)
    case tooManyFailures(peer: String, failures: Int)

    public var description: String {
        switch self {
        case .serverFull(let limit): return "server full (\(limit) sessions)"
        case .peerFull(let peer, let limit): return "\(peer) already has \(limit) sessions"
        case .tooManyFailures(let peer, let failures):
            return "\(peer) had \(failures) authentication failures in the last minute"
        }
    }
}

/// Counts sessions and authentication failures per peer address and decides whether a new call
/// may start. Time is a parameter (sans-I/O).
public struct AdmissionControl: Sendable {
    public let limits: ServerLimits
    public private(set) var total = 0
    private var perPeer: [String: Int] = [:]
    private var failures: [String: [NIODeadline]] = [:]

    public init(limits: ServerLimits) { self.limits = limits }

    /// Admits a new session from `peer`, counting it; or says why not.
    public mutating func admit(peer: String, now: NIODeadline) -> AdmissionRefusal? {
        guard total < limits.maximumSessions else { return .serverFull(limit: limits.maximumSessions) }
        let count = perPeer[peer, default: 0]
        guard count < limits.maximumSessionsPerPeer else {
            return .peerFull(peer: peer, limit: limits.maximumSessionsPerPeer)
        }
        let recent = recentFailures(peer: peer, now: now)
        guard recent < limits.authenticationFailuresPerMinute else {
            return .tooManyFailures(peer: peer, failures: recent)
        }
        total += 1
        perPeer[peer] = count + 1
        return nil
    }

    /// A session from `peer` ended.
    public mutating func release(peer: String) {
        guard let count = perPeer[peer], count > 0 else { return }
        total -= 1
        perPeer[peer] = count == 1 ? nil : count - 1
    }

    /// An authentication from `peer` failed.
    public mutating func recordFailure(peer: String, now: NIODeadline) {
        var list = failures[peer, default: []]
        list.append(now)
        if list.count > limits.authenticationFailuresPerMinute * 2 {
            list.removeFirst(list.count - limits.authenticationFailuresPerMinute * 2)
        }
        failures[peer] = list
    }

    public mutating func recentFailures(peer: String, now: NIODeadline) -> Int {
        guard var list = failures[peer] else { return 0 }
        list.removeAll { now - $0 >= .minutes(1) }
        failures[peer] = list.isEmpty ? nil : list
        return list.count
    }

    public func sessions(peer: String) -> Int { perPeer[peer, default: 0] }
}
