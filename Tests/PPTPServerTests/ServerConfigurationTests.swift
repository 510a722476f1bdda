import MSCrypto
import NIOCore
import PPP
import Testing

@testable import PPTPServer

@Suite struct AddressPoolTests {
    @Test func allocatesRoundRobinAndReleases() {
        var pool = AddressPool(ranges: [IPv4Address(203, 0, 113, 10)...IPv4Address(203, 0, 113, 12)])
        #expect(pool.capacity == 3)
        let a = pool.allocate()
        let b = pool.allocate()
        let c = pool.allocate()
        #expect(
            [a, b, c] == [IPv4Address(203, 0, 113, 10), IPv4Address(203, 0, 113, 11), IPv4Address(203, 0, 113, 12)]
        )
        do {
            let result = pool.allocate()
            #expect(result == nil)
        }
        pool.release(IPv4Address(203, 0, 113, 11))
        do {
            let result = pool.allocate()
            #expect(result == IPv4Address(203, 0, 113, 11))
        }
    }

    @Test func fixedAddressesAreReserved() {
        var pool = AddressPool(ranges: [IPv4Address(203, 0, 113, 10)...IPv4Address(203, 0, 113, 11)])
        do {
            let result = pool.reserve(IPv4Address(203, 0, 113, 10))
            #expect(result)
        }
        do {
            let result = pool.reserve(IPv4Address(203, 0, 113, 10))
            #expect(!result)
        }
        do {
            let result = pool.allocate()
            #expect(result == IPv4Address(203, 0, 113, 11))
        }
    }

    @Test func parsesRangesAndCIDRs() {
        #expect(
            AddressPool.parseRange("203.0.113.10-203.0.113.20") == IPv4Address(
                203,
                0,
                113,
                10
            )...IPv4Address(203, 0, 113, 20)
        )
        #expect(AddressPool.parseRange("203.0.113.0/30") == IPv4Address(203, 0, 113, 1)...IPv4Address(203, 0, 113, 2))
        #expect(AddressPool.parseRange("203.0.113.9") == IPv4Address(203, 0, 113, 9)...IPv4Address(203, 0, 113, 9))
        #expect(AddressPool.parseRange("203.0.113.20-203.0.113.10") == nil)
        #expect(AddressPool.parseRange("nonsense") == nil)
    }

    @Test func coveringPrefixesSpanExactlyThePool() {
        let pool = AddressPool(ranges: [IPv4Address(203, 0, 113, 10)...IPv4Address(203, 0, 113, 200)])
        var covered = Set<UInt32>()
        for (address, length) in pool.coveringPrefixes {
            let size = UInt32(1) << UInt32(32 - length)
            #expect(address.rawValue % size == 0)
            for offset in 0..<size { covered.insert(address.rawValue + offset) }
        }
        #expect(covered == Set((IPv4Address(203, 0, 113, 10).rawValue...IPv4Address(203, 0, 113, 200).rawValue)))
    }
}

@Suite struct AdmissionControlTests {
    let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)

    /// Admits a call from `peer` and authenticates it: one session.
    func session(_ admission: inout AdmissionControl, _ peer: String) -> AdmissionRefusal? {
        if let refusal = admission.admitCall(peer: peer, now: t0) { return refusal }
        return admission.authenticate(peer: peer)
    }

    @Test func limitsSessionsInTotalAndPerPeer() {
        var admission = AdmissionControl(limits: ServerLimits(maximumSessions: 3, maximumSessionsPerPeer: 2))
        #expect(session(&admission, "192.0.2.2") == nil)
        #expect(session(&admission, "192.0.2.2") == nil)
        #expect(session(&admission, "192.0.2.2") == .peerFull(peer: "192.0.2.2", limit: 2))
        #expect(session(&admission, "192.0.2.3") == nil)
        #expect(session(&admission, "192.0.2.4") == .serverFull(limit: 3))
        admission.releaseCall(peer: "192.0.2.2", authenticated: true)
        #expect(session(&admission, "192.0.2.4") == nil)
        #expect(admission.total == 3)
        #expect(admission.unauthenticatedCalls == 0)
    }

    @Test func rateLimitsAuthenticationFailuresPerMinute() {
        var admission = AdmissionControl(limits: ServerLimits(authenticationFailuresPerMinute: 2))
        admission.recordFailure(peer: "192.0.2.9", now: t0)
        admission.recordFailure(peer: "192.0.2.9", now: t0 + .seconds(10))
        #expect(
            admission.admitCall(peer: "192.0.2.9", now: t0 + .seconds(20))
                == .tooManyFailures(peer: "192.0.2.9", failures: 2)
        )
        #expect(admission.admitCall(peer: "192.0.2.8", now: t0 + .seconds(20)) == nil)
        // A minute after the first failure, one remains: admitted again.
        #expect(admission.admitCall(peer: "192.0.2.9", now: t0 + .seconds(61)) == nil)
    }

    @Test func unauthenticatedCallsDoNotFillTheSessions() {
        // Issue 22 item 10: 64 OCRQs from each of 17 addresses filled max_sessions = 1000.
        var admission = AdmissionControl(limits: ServerLimits())
        var refused = 0
        for peer in 0..<17 {
            for _ in 0..<64 where admission.admitCall(peer: "198.51.100.\(peer)", now: t0) != nil { refused += 1 }
        }
        #expect(admission.unauthenticatedCalls == 17 * 16)
        #expect(refused == 17 * (64 - 16))
        // A real user from elsewhere still gets a call and a session.
        #expect(session(&admission, "192.0.2.77") == nil)
        #expect(admission.total == 1)
        #expect(
            admission.admitCall(peer: "198.51.100.0", now: t0)
                == .peerHasTooManyUnauthenticatedCalls(peer: "198.51.100.0", limit: 16)
        )
        var many = AdmissionControl(limits: ServerLimits(maximumUnauthenticatedCalls: 20))
        for peer in 0..<5 { for _ in 0..<4 { _ = many.admitCall(peer: "198.51.100.\(peer)", now: t0) } }
        #expect(many.admitCall(peer: "192.0.2.77", now: t0) == .tooManyUnauthenticatedCalls(limit: 20))
        many.releaseCall(peer: "198.51.100.0", authenticated: false)
        #expect(many.admitCall(peer: "192.0.2.77", now: t0) == nil)
    }

    @Test func unauthenticatedConnectionsAreLimitedPerPeerAndInTotal() {
        var admission = AdmissionControl(
            limits: ServerLimits(maximumUnauthenticatedConnections: 5, maximumUnauthenticatedPerPeer: 3)
        )
        for _ in 0..<3 { #expect(admission.admitConnection(peer: "198.51.100.9", now: t0) == nil) }
        #expect(
            admission.admitConnection(peer: "198.51.100.9", now: t0)
                == .peerHasTooManyUnauthenticatedConnections(peer: "198.51.100.9", limit: 3)
        )
        #expect(admission.admitConnection(peer: "192.0.2.1", now: t0) == nil)
        #expect(admission.admitConnection(peer: "192.0.2.2", now: t0) == nil)
        #expect(admission.admitConnection(peer: "192.0.2.3", now: t0) == .tooManyUnauthenticatedConnections(limit: 5))
        // A connection that authenticates (or closes) makes room.
        admission.releaseConnection(peer: "198.51.100.9")
        #expect(admission.admitConnection(peer: "192.0.2.3", now: t0) == nil)
        #expect(admission.unauthenticatedConnections == 5)
    }

    @Test func guessesAgainstOneUserFromManyAddressesBackOffButNotTheUsersOwnAddress() {
        // Issue 22 item 11: 6 wrong passwords from each of 10 addresses were 50 guesses in 6 s.
        let limits = ServerLimits(authenticationFailuresPerUser: 10, userBackoff: .minutes(1))
        var admission = AdmissionControl(limits: limits)
        admission.recordSuccess(user: "alice", peer: "192.0.2.50", now: t0)
        var checked = 0
        var started: AdmissionRefusal?
        for round in 0..<6 {
            for peer in 0..<10 {
                let now = t0 + .seconds(Int64(round))
                guard admission.userRefusal(user: "alice", peer: "198.51.100.\(peer)", now: now) == nil else {
                    continue
                }
                checked += 1
                started = admission.recordFailure(peer: "198.51.100.\(peer)", user: "alice", now: now) ?? started
            }
        }
        #expect(checked == 10, "ten guesses, then the back-off")
        #expect(started == .userBackedOff(user: "alice", seconds: 60))
        // The real user, from where she logs in, is not locked out; a typo there does not count.
        #expect(admission.userRefusal(user: "alice", peer: "192.0.2.50", now: t0 + .seconds(10)) == nil)
        #expect(admission.recordFailure(peer: "192.0.2.50", user: "alice", now: t0 + .seconds(10)) == nil)
        // Other users are not affected; the back-off ends, and the next round doubles it.
        #expect(admission.userRefusal(user: "bob", peer: "198.51.100.1", now: t0 + .seconds(10)) == nil)
        #expect(admission.userRefusal(user: "alice", peer: "198.51.100.1", now: t0 + .seconds(66)) == nil)
        var next: AdmissionRefusal?
        for i in 0..<10 {
            next = admission.recordFailure(peer: "203.0.113.\(i)", user: "alice", now: t0 + .seconds(70)) ?? next
        }
        #expect(next == .userBackedOff(user: "alice", seconds: 120))
    }

    @Test func refusalsAreLoggedOnceAMinutePerKey() {
        var admission = AdmissionControl(limits: ServerLimits())
        let first = admission.shouldLog("connection 198.51.100.9", now: t0)
        let again = admission.shouldLog("connection 198.51.100.9", now: t0 + .seconds(59))
        let other = admission.shouldLog("connection 198.51.100.8", now: t0 + .seconds(59))
        let later = admission.shouldLog("connection 198.51.100.9", now: t0 + .seconds(60))
        #expect([first, again, other, later] == [true, false, true, true])
    }
}

@Suite struct ConfigurationLoaderTests {
    @Test func loadsEveryKey() throws {
        let text = """
            listen = "192.0.2.1"
            port = 1723
            name = "vpn"

            [tunnel]
            local = "203.0.113.1"
            pool = ["203.0.113.10-203.0.113.20", "198.51.100.0/28"]
            dns = ["198.51.100.53"]
            mtu = 1400

            [auth]
            methods = ["mschapv2", "pap"]
            secrets = "/tmp/chap-secrets"

            [encryption]
            required = true
            strengths = [128, 40]
            stateful = true

            [limits]
            max_sessions = 10
            max_sessions_per_peer = 2
            auth_failures_per_minute = 3
            handshake_timeout = 20

            [keepalive]
            lcp_echo_interval = 0
            """
        let config = try ConfigurationLoader(path: "pptp.toml", text: text).load()
        #expect(config.listenAddress == "192.0.2.1")
        #expect(config.name == "vpn")
        #expect(config.pool.count == 2)
        #expect(config.dns == [IPv4Address(198, 51, 100, 53)])
        #expect(config.policy.authentication == [.msCHAPv2, .pap])
        #expect(config.policy.encryption.strengths == [.bits128, .bits40])
        #expect(config.policy.encryption.allowStateful)
        #expect(config.limits.maximumSessions == 10)
        #expect(config.limits.handshakeTimeout == .seconds(20))
        #expect(config.lcpEchoInterval == nil)
        #expect(config.secretsPath == "/tmp/chap-secrets")
        #expect(!config.warnings.isEmpty)
    }

    @Test func errorsNameFileLineAndKey() {
        let text = "port = 1723\n\n[tunnel]\nlocal = \"203.0.113.1\"\npool = [\"not-an-address\"]\n"
        #expect(
            throws: ConfigurationError(
                path: "pptp.toml",
                line: 5,
                key: "tunnel.pool",
                message: "'not-an-address' is not an address, a range 'A-B' or a CIDR block"
            )
        ) {
            try ConfigurationLoader(path: "pptp.toml", text: text).load()
        }
    }

    @Test func unknownKeysAreErrors() {
        let text = "[limits]\nmax_session = 5\n"
        do {
            _ = try ConfigurationLoader(path: "c.toml", text: text).load()
            Issue.record("accepted a misspelt key")
        } catch {
            #expect(error.line == 2)
            #expect(error.key == "limits.max_session")
        }
    }

    @Test func syntaxErrorsCarryTheLine() {
        do {
            _ = try ConfigurationLoader(path: "c.toml", text: "port = 1\nname = \n").load()
            Issue.record("accepted bad TOML")
        } catch {
            #expect(error.line == 2)
        }
    }

    @Test func requiredMPPEWithoutMSCHAPIsRejected() {
        do {
            _ = try ConfigurationLoader(path: "c.toml", text: "[auth]\nmethods = [\"pap\"]\n").load()
            Issue.record("accepted PAP with required MPPE")
        } catch {
            #expect(error.key == "auth.methods")
        }
    }

    @Test func outOfRangeValuesAreErrors() {
        #expect(throws: ConfigurationError.self) { try ConfigurationLoader(path: "c", text: "port = 70000\n").load() }
        #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader(path: "c", text: "[encryption]\nstrengths = [64]\n").load()
        }
    }
}
