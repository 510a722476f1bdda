import MSCrypto
import NIOCore

/// Which authentication methods and which encryption a session allows. Typed values, secure by
/// default: MS-CHAPv2 and MPPE-128 (stateless) required.
public struct PPPPolicy: Hashable, Sendable, CustomStringConvertible {
    /// Allowed authentication methods, preferred first. On a server these are what the peer may
    /// use; on a client what we accept to use. Empty on a server: no authentication.
    public var authentication: [AuthenticationMethod]
    public var encryption: EncryptionPolicy

    public init(authentication: [AuthenticationMethod] = [.msCHAPv2], encryption: EncryptionPolicy = .default) {
        self.authentication = authentication
        self.encryption = encryption
    }

    public static let `default` = PPPPolicy()

    /// Weaknesses an operator should be warned about at start-up.
    public var weaknesses: [String] {
        var out: [String] = []
        for method in authentication where method != .msCHAPv2 && method != .eap {
            switch method {
            case .pap: out.append("PAP sends the password in clear text")
            case .chapMD5: out.append("CHAP-MD5 needs clear-text secrets on the server and yields no MPPE keys")
            case .msCHAPv1: out.append("MS-CHAPv1 is broken (LM/NT response cracking); use MS-CHAPv2")
            case .msCHAPv2, .eap: break
            }
        }
        if !encryption.required { out.append("encryption is optional: sessions may run in clear text") }
        if encryption.strengths.contains(.bits40) || encryption.strengths.contains(.bits56) {
            out.append("40/56-bit MPPE keys can be searched exhaustively")
        }
        if encryption.allowStateful {
            out.append("stateful MPPE loses the whole stream on one dropped packet until resynchronised")
        }
        return out
    }

    public var description: String {
        (authentication.isEmpty ? "no authentication" : authentication.map(\.rawValue).joined(separator: "/")) + ", "
            + encryption.description
    }
}

/// The configuration of one PPP session.
public struct PPPSessionConfiguration: Sendable {
    /// The server authenticates the peer and assigns addresses; the client authenticates itself.
    public enum Role: Hashable, Sendable {
        case server
        case client
    }

    public var role: Role
    public var policy: PPPPolicy
    /// Our MRU (the largest frame we accept). RFC 1661 default 1500.
    public var mru: UInt16
    /// Our name in CHAP Challenges (server) and the host name we report.
    public var name: String
    /// Client: who we are.
    public var credentials: ClientCredentials?
    /// IPCP: assigned addresses (server) or what to request (client).
    public var ipcp: IPCPNegotiator.Role
    /// Negotiate IPV6CP; when false, IPV6CP is Protocol-Rejected (as pppd's `noipv6`).
    public var ipv6: Bool
    /// LCP Echo-Request interval and the number of unanswered echoes after which the link is
    /// declared dead (pppd's `lcp-echo-interval` and `lcp-echo-failure`). Nil disables echoes.
    public var echoInterval: TimeAmount?
    public var echoFailures: Int
    /// Restart timer and counters of every automaton (RFC 1661 §4.6).
    public var automaton: AutomatonConfiguration
    public var authenticationTimers: AuthenticationTimers
    /// MS-CHAPv2 responses a server verifies before giving up (1: no retries).
    public var maxAuthenticationAttempts: Int
    /// The whole establishment (LCP, authentication, CCP, IPCP) must finish within this time.
    public var handshakeTimeout: TimeAmount?
    /// How a stateful MPPE sender reacts to Reset-Request; see `MPPEResetBehaviour`.
    public var mppeResetBehaviour: MPPEResetBehaviour
    /// Stateless MPPE: recent keys kept to decrypt packets that arrive after a newer one.
    public var mppeLateKeyCache: Int
    /// Request an ACCM in LCP (async-HDLC links only).
    public var requestACCM: UInt32?

    public init(
        role: Role,
        policy: PPPPolicy = .default,
        mru: UInt16 = 1500,
        name: String = "pptp",
        credentials: ClientCredentials? = nil,
        ipcp: IPCPNegotiator.Role,
        ipv6: Bool = false,
        echoInterval: TimeAmount? = .seconds(30),
        echoFailures: Int = 4,
        automaton: AutomatonConfiguration = .init(),
        authenticationTimers: AuthenticationTimers = .init(),
        maxAuthenticationAttempts: Int = 1,
        handshakeTimeout: TimeAmount? = .seconds(60),
        mppeResetBehaviour: MPPEResetBehaviour = .changeKey,
        mppeLateKeyCache: Int = 16,
        requestACCM: UInt32? = nil
    ) {
        self.role = role
        self.policy = policy
        self.mru = mru
        self.name = name
        self.credentials = credentials
        self.ipcp = ipcp
        self.ipv6 = ipv6
        self.echoInterval = echoInterval
        self.echoFailures = echoFailures
        self.automaton = automaton
        self.authenticationTimers = authenticationTimers
        self.maxAuthenticationAttempts = maxAuthenticationAttempts
        self.handshakeTimeout = handshakeTimeout
        self.mppeResetBehaviour = mppeResetBehaviour
        self.mppeLateKeyCache = mppeLateKeyCache
        self.requestACCM = requestACCM
    }
}

/// The phases of a PPP link (RFC 1661 §3.2).
public enum PPPPhase: Hashable, Sendable, CustomStringConvertible {
    case dead, establish, authenticate, network, terminate

    public var description: String {
        switch self {
        case .dead: return "Dead"
        case .establish: return "Establish"
        case .authenticate: return "Authenticate"
        case .network: return "Network"
        case .terminate: return "Terminate"
        }
    }
}

/// Why we close a link ourselves; its words go into the LCP Terminate-Request (pppd's texts where
/// pppd has one, so that the peer's log reads as it does with pppd).
public enum LocalCloseReason: Hashable, Sendable, CustomStringConvertible {
    /// The user or operator asked (SIGINT/SIGTERM of `pptp connect`, `pptp status --kill`).
    case userRequest
    case serverShutdown
    /// The establishment did not finish in time.
    case handshakeTimeout
    /// LCP echoes went unanswered.
    case peerNotResponding
    /// A server's call did not authenticate in time (issue 22 item 10).
    case authenticationTimeout
    /// Anything else, in words (empty: no reason given).
    case other(String)

    /// The text of the Terminate-Request.
    public var terminateText: String {
        switch self {
        case .userRequest: return "User request"
        case .serverShutdown: return "Server shutting down"
        case .handshakeTimeout: return "Link set-up timed out"
        case .peerNotResponding: return "Peer not responding"
        case .authenticationTimeout: return "Authentication timed out"
        case .other(let text): return text
        }
    }

    public var description: String { terminateText }
}

/// Why a session ended.
public enum PPPDownReason: Hashable, Sendable, CustomStringConvertible {
    /// We closed it, for this reason (sent in the Terminate-Request).
    case localClose(LocalCloseReason)
    /// The peer sent LCP Terminate-Request, with its text (pppd sends "MPPE disabled",
    /// "User request" …).
    case peerTerminated(String)
    /// A negotiation could not succeed (LCP, CCP or IPCP).
    case negotiationFailed(NegotiationFailure)
    case authenticationFailed(AuthenticationFailure)
    /// MPPE is required but the authentication method gives no keys (PAP, CHAP-MD5, none).
    case encryptionNeedsMSCHAP(AuthenticationMethod?)
    /// No answer to this many LCP Echo-Requests (pppd: "No response to N echo-requests").
    case echoTimeout(unanswered: Int)
    /// The establishment did not finish in time; the phase it was stuck in.
    case handshakeTimeout(PPPPhase)
    /// The layer below (the PPTP call) went away.
    case lowerLayerDown

    public var description: String {
        switch self {
        case .localClose(let reason):
            return reason.terminateText.isEmpty ? "closed locally" : "closed locally: \(reason.terminateText)"
        case .peerTerminated(let text):
            return text.isEmpty ? "peer terminated the link" : "peer terminated the link: \(text)"
        case .negotiationFailed(let failure): return failure.description
        case .authenticationFailed(let failure): return failure.description
        case .encryptionNeedsMSCHAP(let method):
            return
                "MPPE is required but \(method.map { "\($0)" } ?? "no authentication") provides no encryption keys (MS-CHAP is needed)"
        case .echoTimeout(let count): return "no response to \(count) LCP echo-requests"
        case .handshakeTimeout(let phase): return "link set-up timed out in the \(phase) phase"
        case .lowerLayerDown: return "the tunnel call went down"
        }
    }
}

/// The addresses IPCP agreed.
public struct IPv4NetworkSettings: Hashable, Sendable {
    public var localAddress: IPv4Address
    public var peerAddress: IPv4Address
    public var dnsServers: [IPv4Address]
    /// The largest IPv4 packet the peer takes (`PPPDataPath.largestDatagram` when IPCP opened): the
    /// most a TUN MTU may be.
    public var largestDatagram: Int

    public init(
        localAddress: IPv4Address,
        peerAddress: IPv4Address,
        dnsServers: [IPv4Address],
        largestDatagram: Int = 1500
    ) {
        self.localAddress = localAddress
        self.peerAddress = peerAddress
        self.dnsServers = dnsServers
        self.largestDatagram = largestDatagram
    }
}

/// What happened, for the layer above to act on and to log.
public enum PPPSessionEvent: Hashable, Sendable {
    /// LCP is open.
    case linkEstablished(LCPAgreement)
    /// Server: the peer authenticated as this user. Client: we authenticated to the server.
    case authenticated(userName: String, method: AuthenticationMethod)
    /// Client: the server accepted our new password.
    case passwordChanged
    /// CCP opened MPPE in both directions.
    case encryptionUp(send: MPPEDirection, receive: MPPEDirection)
    /// IPCP is open: data can flow.
    case networkUp(IPv4NetworkSettings)
    /// IPV6CP is open, with the interface identifiers.
    case ipv6Up(local: UInt64, peer: UInt64)
    /// The peer rejected a protocol we sent (LCP Protocol-Reject, RFC 1661 §5.7).
    case protocolRejected(PPPProtocolNumber)
    /// LCP Identification from the peer (Windows sends "MSRASV5.00" …).
    case peerIdentification(String)
    /// The answer to an Echo-Request arrived (round trip measured with `now`).
    case echoReply(roundTrip: TimeAmount)
    /// The session is over.
    case down(PPPDownReason)
}

/// What the session asks of the layer below and above.
public enum PPPSessionAction: Hashable, Sendable {
    /// Send this control frame (already with its PPP header).
    case send(PPPFrame)
    /// Decide this authentication request and answer with `receive(verdict:now:)`.
    case verify(AuthenticationRequest)
    case event(PPPSessionEvent)
}

/// Counters of the control plane.
public struct PPPControlCounters: Hashable, Sendable {
    public var framesReceived = 0
    public var framesSent = 0
    public var discardedBeforePhase = 0
    /// NCP Configure-Requests that arrived before their NCP opened and were handled when it did.
    public var heldEarlyRequests = 0
    public var protocolRejectsSent = 0
    /// LCP Protocol-Rejects of our MPPE frames (0x00FD) while MPPE was up: each ends the session.
    public var encryptedFramesRejected = 0
    public var malformed = 0
    public var echoRequestsSent = 0
    public var echoRepliesReceived = 0
    public init() {}
}
