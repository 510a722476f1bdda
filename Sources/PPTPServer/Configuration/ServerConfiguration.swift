import MSCrypto
import NIOCore
import PPP

/// Everything `pptp serve` needs, with secure defaults: MS-CHAPv2 and MPPE-128 required.
public struct ServerConfiguration: Sendable {
    /// Address and port to listen on (RFC 2637: TCP 1723).
    public var listenAddress: String = "0.0.0.0"
    public var port: Int = 1723
    /// Our name in CHAP Challenges and the `server` column of chap-secrets (pppd's `name`).
    public var name: String = "pptpd"
    /// The host name and vendor in SCCRP (host name empty: this machine's, from gethostname(2)).
    public var hostName: String = ""
    public var vendor: String = "swift-pptp"

    /// Our address on the tunnel side (pppd's local IP).
    public var localAddress = IPv4Address(203, 0, 113, 1)
    /// Client addresses.
    public var pool: [ClosedRange<IPv4Address>] = [IPv4Address(203, 0, 113, 10)...IPv4Address(203, 0, 113, 250)]
    public var dns: [IPv4Address] = []
    public var nbns: [IPv4Address] = []
    /// The MTU of the TUN device and the MRU we ask for. With MPPE the IP MTU must stay at
    /// least 4 below the peer's MRU (notes/windows-peers.md §4): 1400 leaves room for 1500.
    public var mtu: Int = 1400
    public var ipv6 = false
    /// Load tests only: when the pool is exhausted, hand its addresses out again (traffic to a
    /// shared address goes to one of its sessions). Lets a benchmark hold more sessions than the
    /// documentation address ranges have addresses; never for a real server (a warning says so).
    public var overcommitPool = false

    public var policy = PPPPolicy.default
    /// The users (chap-secrets format); nil means no user can log in.
    public var secretsPath: String?
    public var limits = ServerLimits()

    public var lcpEchoInterval: TimeAmount? = .seconds(30)
    public var lcpEchoFailures = 4
    public var controlEchoInterval: TimeAmount = .seconds(60)

    /// The local control socket of `pptp status`.
    public var statusSocketPath: String = "/run/pptp/status.sock"
    /// The TUN device shared by every session.
    public var tunName: String = "pptp-srv%d"

    public init() {}

    /// Start-up warnings for weak choices (the operator named them, so they are allowed).
    public var warnings: [String] {
        policy.weaknesses
            + (overcommitPool
                ? ["tunnel.overcommit is on: client addresses are shared once the pool is exhausted (load tests only)"]
                : [])
    }
}
