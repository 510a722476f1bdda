import NIOCore
import PPP

/// The server's limits (DESIGN.md "Server": sessions in total and per peer address, handshake
/// deadlines, authentication failures rate-limited), and those a hostile run showed were missing
/// (issue 22 items 9–11): what has not authenticated is counted apart from sessions, with smaller
/// limits of its own, and password guessing is limited per user as well as per address.
public struct ServerLimits: Hashable, Sendable {
    /// Authenticated sessions in total.
    public var maximumSessions: Int
    /// Sessions and calls waiting to authenticate, per peer address.
    public var maximumSessionsPerPeer: Int
    /// Authentication failures allowed per peer address per minute; then its new calls are
    /// refused until the minute has passed.
    public var authenticationFailuresPerMinute: Int
    /// A TCP connection must finish SCCRQ, OCRQ, LCP, authentication, CCP and IPCP within this.
    public var handshakeTimeout: TimeAmount
    /// TCP connections without an authenticated session, in total and per peer address: 21 000
    /// idle connections from one address used to exhaust the open-file limit.
    public var maximumUnauthenticatedConnections: Int
    public var maximumUnauthenticatedPerPeer: Int
    /// Calls placed but not yet authenticated, in total (per peer: `maximumUnauthenticatedPerPeer`);
    /// they no longer count against `maximumSessions` (64 OCRQs from each of 17 addresses filled it).
    public var maximumUnauthenticatedCalls: Int
    /// A call must authenticate within this, or it is cleared.
    public var authenticationTimeout: TimeAmount
    /// Failures per user in `userFailureWindow`, from addresses the user has not logged in from
    /// lately, before such addresses are refused for that user for `userBackoff` (doubling with each
    /// further round, up to 16 times). Addresses the user logged in from keep working, so an attacker
    /// cannot lock the real user out.
    public var authenticationFailuresPerUser: Int
    public var userBackoff: TimeAmount
    public var userFailureWindow: TimeAmount
    /// Descriptors kept beyond one per session for everything else (the TUN device, the raw and
    /// status sockets, logs, the secrets file), so a connection flood cannot starve them.
    public static let descriptorReserve = 256

    public init(
        maximumSessions: Int = 1000,
        maximumSessionsPerPeer: Int = 64,
        authenticationFailuresPerMinute: Int = 5,
        handshakeTimeout: TimeAmount = .seconds(30),
        maximumUnauthenticatedConnections: Int = 1000,
        maximumUnauthenticatedPerPeer: Int = 16,
        maximumUnauthenticatedCalls: Int = 512,
        authenticationTimeout: TimeAmount = .seconds(15),
        authenticationFailuresPerUser: Int = 10,
        userBackoff: TimeAmount = .minutes(1),
        userFailureWindow: TimeAmount = .minutes(5)
    ) {
        self.maximumSessions = maximumSessions
        self.maximumSessionsPerPeer = maximumSessionsPerPeer
        self.authenticationFailuresPerMinute = authenticationFailuresPerMinute
        self.handshakeTimeout = handshakeTimeout
        self.maximumUnauthenticatedConnections = maximumUnauthenticatedConnections
        self.maximumUnauthenticatedPerPeer = maximumUnauthenticatedPerPeer
        self.maximumUnauthenticatedCalls = maximumUnauthenticatedCalls
        self.authenticationTimeout = authenticationTimeout
        self.authenticationFailuresPerUser = authenticationFailuresPerUser
        self.userBackoff = userBackoff
        self.userFailureWindow = userFailureWindow
    }
}

/// Why a connection, a call or an authentication was refused before any password was checked.
public enum AdmissionRefusal: Hashable, Sendable, CustomStringConvertible {
    case serverFull(limit: Int)
    case peerFull(peer: String, limit: Int)
    case tooManyFailures(peer: String, failures: Int)
    /// Too many TCP connections without an authenticated session.
    case tooManyUnauthenticatedConnections(limit: Int)
    case peerHasTooManyUnauthenticatedConnections(peer: String, limit: Int)
    /// Too many calls waiting to authenticate.
    case tooManyUnauthenticatedCalls(limit: Int)
    case peerHasTooManyUnauthenticatedCalls(peer: String, limit: Int)
    /// The user is backed off for addresses it has not logged in from (seconds left).
    case userBackedOff(user: String, seconds: Int)

    public var description: String {
        switch self {
        case .serverFull(let limit): return "server full (\(limit) sessions)"
        case .peerFull(let peer, let limit): return "\(peer) already has \(limit) sessions"
        case .tooManyFailures(let peer, let failures):
            return "\(peer) had \(failures) authentication failures in the last minute"
        case .tooManyUnauthenticatedConnections(let limit):
            return "\(limit) connections are waiting to authenticate"
        case .peerHasTooManyUnauthenticatedConnections(let peer, let limit):
            return "\(peer) already has \(limit) connections that have not authenticated"
        case .tooManyUnauthenticatedCalls(let limit): return "\(limit) calls are waiting to authenticate"
        case .peerHasTooManyUnauthenticatedCalls(let peer, let limit):
            return "\(peer) already has \(limit) calls waiting to authenticate"
        case .userBackedOff(let user, let seconds):
            return
                "user \"\(user)\" had too many failed logins: attempts from addresses it has not logged in from are refused for \(seconds) s"
        }
    }
}

/// Counts connections, calls and sessions per peer address, and authentication failures per
/// address and per user, and decides what may start. Time is a parameter (sans-I/O); every table
/// is bounded.
public struct AdmissionControl: Sendable {
    public let limits: ServerLimits
    /// Authenticated sessions.
    public private(set) var total = 0
    public private(set) var unauthenticatedConnections = 0
    public private(set) var unauthenticatedCalls = 0
    private var perPeer: [String: PeerCounts] = [:]
    private var failures: [String: [NIODeadline]] = [:]
    private var users: [String: UserRecord] = [:]
    private var lastLogged: [String: NIODeadline] = [:]

    /// Users and log keys remembered at most (the oldest go first).
    static let tableLimit = 10_000
    /// How long a successful login keeps its address exempt from the user's back-off.
    static let trustedAddressLifetime = TimeAmount.hours(24 * 7)

    private struct PeerCounts: Sendable {
        var sessions = 0
        var calls = 0
        var connections = 0
        var isEmpty: Bool { sessions == 0 && calls == 0 && connections == 0 }
    }

    private struct UserRecord: Sendable {
        var failures: [NIODeadline] = []
        var blockedUntil: NIODeadline?
        var rounds = 0
        /// Addresses the user logged in from, and when.
        var trusted: [String: NIODeadline] = [:]
        var lastSeen: NIODeadline
    }

    public init(limits: ServerLimits) { self.limits = limits }

    // MARK: - Connections

    /// A TCP connection from `peer` opened; counted until it authenticates a session or closes.
    public mutating func admitConnection(peer: String, now: NIODeadline) -> AdmissionRefusal? {
        guard unauthenticatedConnections < limits.maximumUnauthenticatedConnections else {
            return .tooManyUnauthenticatedConnections(limit: limits.maximumUnauthenticatedConnections)
        }
        let counts = perPeer[peer, default: PeerCounts()]
        guard counts.connections < limits.maximumUnauthenticatedPerPeer else {
            return .peerHasTooManyUnauthenticatedConnections(peer: peer, limit: limits.maximumUnauthenticatedPerPeer)
        }
        unauthenticatedConnections += 1
        perPeer[peer, default: PeerCounts()].connections += 1
        return nil
    }

    /// A connection counted by `admitConnection` authenticated a session, or closed first.
    public mutating func releaseConnection(peer: String) {
        guard var counts = perPeer[peer], counts.connections > 0 else { return }
        counts.connections -= 1
        unauthenticatedConnections -= 1
        store(counts, for: peer)
    }

    // MARK: - Calls and sessions

    /// A call from `peer` asks to start; counted as waiting to authenticate.
    public mutating func admitCall(peer: String, now: NIODeadline) -> AdmissionRefusal? {
        guard total < limits.maximumSessions else { return .serverFull(limit: limits.maximumSessions) }
        let counts = perPeer[peer, default: PeerCounts()]
        guard counts.sessions + counts.calls < limits.maximumSessionsPerPeer else {
            return .peerFull(peer: peer, limit: limits.maximumSessionsPerPeer)
        }
        let recent = recentFailures(peer: peer, now: now)
        guard recent < limits.authenticationFailuresPerMinute else {
            return .tooManyFailures(peer: peer, failures: recent)
        }
        guard unauthenticatedCalls < limits.maximumUnauthenticatedCalls else {
            return .tooManyUnauthenticatedCalls(limit: limits.maximumUnauthenticatedCalls)
        }
        guard counts.calls < limits.maximumUnauthenticatedPerPeer else {
            return .peerHasTooManyUnauthenticatedCalls(peer: peer, limit: limits.maximumUnauthenticatedPerPeer)
        }
        unauthenticatedCalls += 1
        perPeer[peer, default: PeerCounts()].calls += 1
        return nil
    }

    /// A call admitted by `admitCall` authenticated: it becomes a session, if there is room.
    public mutating func authenticate(peer: String) -> AdmissionRefusal? {
        guard total < limits.maximumSessions else { return .serverFull(limit: limits.maximumSessions) }
        guard var counts = perPeer[peer], counts.calls > 0 else { return nil }
        counts.calls -= 1
        counts.sessions += 1
        unauthenticatedCalls -= 1
        total += 1
        store(counts, for: peer)
        return nil
    }

    /// A call from `peer` ended; `authenticated` says whether `authenticate` admitted it.
    public mutating func releaseCall(peer: String, authenticated: Bool) {
        guard var counts = perPeer[peer] else { return }
        if authenticated {
            guard counts.sessions > 0 else { return }
            counts.sessions -= 1
            total -= 1
        } else {
            guard counts.calls > 0 else { return }
            counts.calls -= 1
            unauthenticatedCalls -= 1
        }
        store(counts, for: peer)
    }

    private mutating func store(_ counts: PeerCounts, for peer: String) {
        perPeer[peer] = counts.isEmpty ? nil : counts
    }

    public func sessions(peer: String) -> Int { perPeer[peer]?.sessions ?? 0 }

    // MARK: - Authentication failures

    /// Whether a login as `user` from `peer` may be checked at all.
    public mutating func userRefusal(user: String, peer: String, now: NIODeadline) -> AdmissionRefusal? {
        guard let record = users[user], let until = record.blockedUntil, now < until else { return nil }
        if let trusted = record.trusted[peer], now - trusted < Self.trustedAddressLifetime { return nil }
        return .userBackedOff(user: user, seconds: Int((until - now).nanoseconds / 1_000_000_000) + 1)
    }

    /// An authentication as `user` from `peer` failed. Returns the back-off it started, if any.
    @discardableResult
    public mutating func recordFailure(peer: String, user: String? = nil, now: NIODeadline) -> AdmissionRefusal? {
        var list = failures[peer, default: []]
        list.append(now)
        if list.count > limits.authenticationFailuresPerMinute * 2 {
            list.removeFirst(list.count - limits.authenticationFailuresPerMinute * 2)
        }
        if failures[peer] == nil { evict(&failures) }
        failures[peer] = list
        guard let user else { return nil }
        if users[user] == nil { evictUsers(now: now) }
        var record = users[user] ?? UserRecord(lastSeen: now)
        record.lastSeen = now
        defer { users[user] = record }
        // A failure from an address the user logs in from is a typo, not a guess.
        if let trusted = record.trusted[peer], now - trusted < Self.trustedAddressLifetime { return nil }
        record.failures.removeAll { now - $0 >= limits.userFailureWindow }
        record.failures.append(now)
        guard record.failures.count >= limits.authenticationFailuresPerUser else { return nil }
        if record.blockedUntil.map({ now - $0 >= .hours(1) }) ?? false { record.rounds = 0 }
        let backoff = limits.userBackoff * Int64(1 << min(record.rounds, 4))
        record.rounds += 1
        record.failures.removeAll()
        record.blockedUntil = now + backoff
        return .userBackedOff(user: user, seconds: Int(backoff.nanoseconds / 1_000_000_000))
    }

    /// `user` logged in from `peer`: that address is exempt from the user's back-off from now on.
    public mutating func recordSuccess(user: String, peer: String, now: NIODeadline) {
        if users[user] == nil { evictUsers(now: now) }
        var record = users[user] ?? UserRecord(lastSeen: now)
        record.lastSeen = now
        record.trusted[peer] = now
        if record.trusted.count > 64, let oldest = record.trusted.min(by: { $0.value < $1.value })?.key {
            record.trusted[oldest] = nil
        }
        users[user] = record
    }

    public mutating func recentFailures(peer: String, now: NIODeadline) -> Int {
        guard var list = failures[peer] else { return 0 }
        list.removeAll { now - $0 >= .minutes(1) }
        failures[peer] = list.isEmpty ? nil : list
        return list.count
    }

    // MARK: - Logging

    /// Runs a check that may refuse; a refusal comes with whether to log it now (`shouldLog` of
    /// `logKey`), so that each caller says it once a minute at most.
    public mutating func check(
        _ body: (inout AdmissionControl) -> AdmissionRefusal?,
        logKey: String,
        now: NIODeadline
    ) -> (refusal: AdmissionRefusal, log: Bool)? {
        guard let refusal = body(&self) else { return nil }
        return (refusal, shouldLog(logKey, now: now))
    }

    /// Whether a line about `key` (a peer's refusals, a user's back-off) may be logged now: once a
    /// minute per key, so that a flood of refusals costs one line, not one per attempt.
    public mutating func shouldLog(_ key: String, now: NIODeadline) -> Bool {
        if let last = lastLogged[key], now - last < .minutes(1) { return false }
        if lastLogged[key] == nil { evict(&lastLogged) }
        lastLogged[key] = now
        return true
    }

    private func evict<Value>(_ table: inout [String: Value]) {
        guard table.count >= Self.tableLimit, let any = table.keys.first else { return }
        table[any] = nil
    }

    private mutating func evictUsers(now: NIODeadline) {
        guard users.count >= Self.tableLimit else { return }
        // Forget users with nothing pending first; a user still backed off is kept while others can go.
        if let idle = users.first(where: { $0.value.blockedUntil.map { now >= $0 } ?? true })?.key {
            users[idle] = nil
        } else if let oldest = users.min(by: { $0.value.lastSeen < $1.value.lastSeen })?.key {
            users[oldest] = nil
        }
    }
}
