import MSCrypto
import NIOCore

@testable import PPP

/// A client session and a server session wired in memory, with a virtual clock that jumps to
/// the next deadline when nothing is in flight (the quinn `Pair` pattern).
struct SessionPair {
    var client: PPPSession
    var server: PPPSession
    var now = NIODeadline.uptimeNanoseconds(1_000_000_000)
    /// Users the server knows.
    var secrets: [String: StoredSecret]
    var clientEvents: [PPPSessionEvent] = []
    var serverEvents: [PPPSessionEvent] = []
    var toServer: [[UInt8]] = []
    var toClient: [[UInt8]] = []
    /// Drop every frame in this direction (a silent peer).
    var dropToServer = false
    var dropToClient = false
    /// Frames delivered, to bound the run.
    var delivered = 0

    static let serverAddress = IPv4Address(203, 0, 113, 1)
    static let clientAddress = IPv4Address(203, 0, 113, 11)
    static let dns = IPv4Address(198, 51, 100, 53)

    init(
        serverPolicy: PPPPolicy = .default,
        clientPolicy: PPPPolicy = .default,
        user: String = "alice",
        password: String = "Alice-Secret-1",
        clientPassword: String? = nil,
        newPassword: String? = nil,
        seed: UInt64 = 1,
        configureClient: (inout PPPSessionConfiguration) -> Void = { _ in },
        configureServer: (inout PPPSessionConfiguration) -> Void = { _ in }
    ) {
        var serverConfig = PPPSessionConfiguration(
            role: .server,
            policy: serverPolicy,
            name: "pptpd",
            ipcp: .assigning(local: Self.serverAddress, peer: Self.clientAddress, dns: [Self.dns], nbns: [])
        )
        configureServer(&serverConfig)
        var clientConfig = PPPSessionConfiguration(
            role: .client,
            policy: clientPolicy,
            credentials: ClientCredentials(
                userName: user,
                password: clientPassword ?? password,
                newPassword: newPassword
            ),
            ipcp: .requesting(preferred: .unspecified, requestDNS: true)
        )
        configureClient(&clientConfig)
        server = PPPSession(configuration: serverConfig, random: SplitMix64(seed: seed))
        client = PPPSession(configuration: clientConfig, random: SplitMix64(seed: seed &+ 1000))
        secrets = [user: .password(password)]
    }

    var clientDown: PPPDownReason? { client.downReason }
    var serverDown: PPPDownReason? { server.downReason }

    mutating func start() {
        apply(client.start(now: now), fromClient: true)
        apply(server.start(now: now), fromClient: false)
    }

    mutating func apply(_ actions: [PPPSessionAction], fromClient: Bool) {
        for action in actions {
            switch action {
            case .send(let frame):
                let bytes = Array(frame.serialized().readableBytesView)
                if fromClient {
                    if !dropToServer { toServer.append(bytes) }
                } else {
                    if !dropToClient { toClient.append(bytes) }
                }
            case .verify(let request):
                precondition(!fromClient, "a client never verifies")
                let verdict: AuthenticationVerdict
                if let secret = secrets[request.userName] {
                    verdict = CredentialVerifier.verify(request, secret: secret).verdict
                } else {
                    verdict = .reject(.authenticationFailure, message: "unknown user")
                }
                apply(server.receive(verdict: verdict, now: now), fromClient: false)
            case .event(let event):
                if fromClient { clientEvents.append(event) } else { serverEvents.append(event) }
            }
        }
    }

    /// Delivers a frame as the real path does: through the receiver's data path.
    mutating func deliver(_ bytes: [UInt8], toClient: Bool) {
        delivered += 1
        var buffer = bytes
        let result = buffer.withUnsafeMutableBytes { raw -> PPPDecapsulation in
            toClient
                ? client.dataPath.decapsulate(raw, frame: 0..<raw.count)
                : server.dataPath.decapsulate(raw, frame: 0..<raw.count)
        }
        guard case .control(let proto, let range) = result else { return }
        let information = Array(buffer[range])
        if toClient {
            apply(client.receive(proto, information: information, now: now), fromClient: true)
        } else {
            apply(server.receive(proto, information: information, now: now), fromClient: false)
        }
    }

    /// Runs until both sides are quiet and either down, up, or out of deadlines; the clock jumps
    /// to the next deadline whenever nothing is in flight. `until` stops early.
    mutating func run(maxSteps: Int = 10_000, until: (SessionPair) -> Bool = { _ in false }) {
        var steps = 0
        while steps < maxSteps {
            steps += 1
            if until(self) { return }
            if !toServer.isEmpty {
                let frame = toServer.removeFirst()
                deliver(frame, toClient: false)
                continue
            }
            if !toClient.isEmpty {
                let frame = toClient.removeFirst()
                deliver(frame, toClient: true)
                continue
            }
            if client.downReason != nil && server.downReason != nil { return }
            guard let next = [client.nextDeadline, server.nextDeadline].compactMap({ $0 }).min() else { return }
            if next > now { now = next }
            apply(client.timeout(now: now), fromClient: true)
            apply(server.timeout(now: now), fromClient: false)
        }
    }

    /// Runs until both network layers are up (or something ends).
    mutating func runUntilUp() {
        run(until: { $0.client.isNetworkUp && $0.server.isNetworkUp && $0.toClient.isEmpty && $0.toServer.isEmpty })
    }

    /// A UDP datagram of `length` octets of payload between the two tunnel addresses: what the
    /// data path accepts once MPPE has decrypted it (a valid IPv4 header).
    static func datagram(_ number: Int, length: Int = 16) -> [UInt8] {
        IPv4Packet.build(
            source: clientAddress,
            destination: serverAddress,
            protocolNumber: 17,
            identification: UInt16(truncatingIfNeeded: number),
            payload: (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ number) }
        )
    }

    /// Sends an IPv4 packet from one side to the other through both data paths; returns what
    /// arrived, or the drop reason.
    mutating func sendData(_ payload: [UInt8], fromClient: Bool) -> Result<[UInt8], PPPDropReason> {
        let headroom = PPPDataPath.maximumHeaderLength
        var buffer = [UInt8](repeating: 0, count: headroom) + payload
        let encapsulated = buffer.withUnsafeMutableBytes { raw in
            fromClient
                ? client.dataPath.encapsulate(.ipv4, in: raw, payload: headroom..<raw.count)
                : server.dataPath.encapsulate(.ipv4, in: raw, payload: headroom..<raw.count)
        }
        let start: Int
        switch encapsulated {
        case .success(let s): start = s
        case .failure(let reason): return .failure(reason)
        }
        var frame = Array(buffer[start...])
        let result = frame.withUnsafeMutableBytes { raw in
            fromClient
                ? server.dataPath.decapsulate(raw, frame: 0..<raw.count)
                : client.dataPath.decapsulate(raw, frame: 0..<raw.count)
        }
        switch result {
        case .ipv4(let range): return .success(Array(frame[range]))
        case .dropped(let reason, _): return .failure(reason)
        case .ipv6, .control: return .failure(.malformedHeader)
        }
    }
}
