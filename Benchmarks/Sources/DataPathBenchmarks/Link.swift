import COpenSSLShim
import Glibc
import MSCrypto
import NIOCore
import PPP
import PPTP

// MARK: - Negotiation in memory

/// The data path variants measured.
enum Variant: String, CaseIterable {
    /// The variants selected on the command line (all by default).
    static var selected: [Variant] { allCases.filter { only == nil || $0.shortName == only } }

    case stateless = "MPPE-128 stateless"
    case stateful = "MPPE-128 stateful"
    case none = "no MPPE"
    /// Stateless MPPE with `respectPeerWindow: false` on both ends: the cost of the window bookkeeping.
    case statelessNoWindow = "MPPE-128 stateless, peer window ignored"

    var shortName: String {
        switch self {
        case .stateless: "stateless"
        case .stateful: "stateful"
        case .none: "none"
        case .statelessNoWindow: "nowindow"
        }
    }

    var policy: PPPPolicy {
        switch self {
        case .stateless, .statelessNoWindow: return .default
        case .stateful:
            return PPPPolicy(encryption: EncryptionPolicy(required: true, strengths: [.bits128], preferStateful: true))
        case .none: return PPPPolicy(encryption: .none)
        }
    }

    var expectedMode: MPPEMode? {
        switch self {
        case .stateless, .statelessNoWindow: return .stateless
        case .stateful: return .stateful
        case .none: return nil
        }
    }

    /// The C reference configuration doing the same work (pptp_toy.c `-s -C ossl`, `-C ossl`, `-C none`).
    var reference: (impl: Int32, stateless: Int32, options: String)? {
        switch self {
        case .stateless: return (Int32(BENCH_OPENSSL), 1, "-s -C ossl")
        case .stateful: return (Int32(BENCH_OPENSSL), 0, "-C ossl")
        case .none: return (Int32(BENCH_NO_CRYPTO), 0, "-C none")
        case .statelessNoWindow: return nil
        }
    }
}

/// A client (PNS) and a server (PAC) TunnelSession joined in memory.
struct Link {
    var client: TunnelSession
    var server: TunnelSession
    var now = NIODeadline.uptimeNanoseconds(1_000_000_000)
    var toServer: [[UInt8]] = []
    var toClient: [[UInt8]] = []
    var down: [String] = []
    static let password = "Bench-Secret-1"

    init(_ variant: Variant) {
        let gre = GRESequencerConfiguration(respectPeerWindow: variant != .statelessNoWindow)
        let clientCall = CallInformation(callID: 0x1111, peerCallID: 0x2222, direction: .outgoing, peerWindow: 64)
        let serverCall = CallInformation(callID: 0x2222, peerCallID: 0x1111, direction: .outgoing, peerWindow: 64)
        client = TunnelSession(
            call: clientCall,
            gre: gre,
            ppp: PPPSessionConfiguration(
                role: .client,
                policy: variant.policy,
                credentials: ClientCredentials(userName: "bench", password: Self.password),
                ipcp: .requesting(preferred: .unspecified, requestDNS: false)
            ),
            random: SplitMix64(seed: 1)
        )
        server = TunnelSession(
            call: serverCall,
            gre: gre,
            ppp: PPPSessionConfiguration(
                role: .server,
                policy: variant.policy,
                name: "bench",
                ipcp: .assigning(local: IPv4Address(192, 0, 2, 1), peer: IPv4Address(192, 0, 2, 10), dns: [], nbns: [])
            ),
            random: SplitMix64(seed: 2)
        )
    }

    mutating func apply(_ actions: [TunnelAction], fromClient: Bool) {
        for action in actions {
            switch action {
            case .sendGRE(let packet):
                let bytes = Array(packet.readableBytesView)
                if fromClient { toServer.append(bytes) } else { toClient.append(bytes) }
            case .deliver:
                break
            case .verify(let request):
                let verdict = CredentialVerifier.verify(request, secret: .password(Self.password)).verdict
                apply(server.receive(verdict: verdict, now: now), fromClient: false)
            case .ppp(.down(let reason)):
                down.append("\(fromClient ? "client" : "server"): \(reason)")
            case .ppp, .anomaly:
                break
            }
        }
    }

    /// Delivers queued GRE packets and runs due timers until both queues are empty.
    mutating func pump() {
        while !toServer.isEmpty || !toClient.isEmpty {
            if !toServer.isEmpty {
                var bytes = toServer.removeFirst()
                let now = self.now
                let actions = bytes.withUnsafeMutableBytes { server.receiveGRE($0, now: now).actions }
                apply(actions, fromClient: false)
            } else {
                var bytes = toClient.removeFirst()
                let now = self.now
                let actions = bytes.withUnsafeMutableBytes { client.receiveGRE($0, now: now).actions }
                apply(actions, fromClient: true)
            }
        }
    }

    mutating func runTimers() {
        if let deadline = client.nextDeadline, deadline <= now { apply(client.timeout(now: now), fromClient: true) }
        if let deadline = server.nextDeadline, deadline <= now { apply(server.timeout(now: now), fromClient: false) }
        pump()
    }

    /// Brings the link up: LCP, MS-CHAPv2, CCP, IPCP, as over GRE.
    mutating func negotiate(_ variant: Variant) {
        apply(client.start(now: now), fromClient: true)
        apply(server.start(now: now), fromClient: false)
        for _ in 0..<1000 {
            pump()
            if client.ppp.isNetworkUp && server.ppp.isNetworkUp { break }
            guard let next = [client.nextDeadline, server.nextDeadline].compactMap({ $0 }).min() else { break }
            if next > now { now = next }
            runTimers()
        }
        precondition(down.isEmpty, "\(variant.rawValue): the link went down during negotiation: \(down)")
        precondition(
            client.ppp.isNetworkUp && server.ppp.isNetworkUp,
            "\(variant.rawValue): negotiation did not finish"
        )
        let modes = (client.ppp.dataPath.encryptor?.mode, server.ppp.dataPath.encryptor?.mode)
        precondition(
            modes.0 == variant.expectedMode && modes.1 == variant.expectedMode,
            "\(variant.rawValue): negotiated MPPE \(String(describing: modes)), expected \(String(describing: variant.expectedMode))"
        )
        if variant.expectedMode != nil {
            precondition(client.ppp.dataPath.encryptor?.strength == .bits128, "\(variant.rawValue): not 128-bit")
        }
    }
}
