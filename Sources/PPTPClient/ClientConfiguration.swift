import NIOCore
import PPP
import PPTPNetwork

/// What `pptp connect` was asked to do.
public struct ClientConfiguration: Sendable {
    /// The server, by name or IPv4 address.
    public var server: String
    public var port: Int = 1723
    public var credentials: ClientCredentials
    /// Allowed authentication and encryption; secure by default (MS-CHAPv2 + MPPE-128).
    public var policy: PPPPolicy = .default
    /// Routes through the tunnel.
    public var routes: [RouteRequest] = []
    /// Install the DNS servers the server gives (and restore ours on exit).
    public var useServerDNS = false
    /// Reconnect with back-off after the tunnel drops (not after an authentication failure).
    public var reconnect = false
    public var reconnectInitialDelay: TimeAmount = .seconds(1)
    public var reconnectMaximumDelay: TimeAmount = .seconds(60)
    /// The MTU of our TUN device (lowered to the peer's MRU − 4 with MPPE).
    public var mtu: Int = 1400
    /// Where the run keeps the record of what it installed (see `RunState`).
    public var stateDirectory: String = RunState.defaultDirectory
    public var tunName: String = "pptp%d"
    public var echoInterval: TimeAmount? = .seconds(30)
    public var echoFailures = 4
    /// TCP connect time-out.
    public var connectTimeout: TimeAmount = .seconds(15)
    /// With the call up, no GRE at all from the server within this time: "GRE blocked".
    public var greTimeout: TimeAmount = .seconds(15)
    /// Whole set-up (SCCRQ to IPCP) time-out.
    public var handshakeTimeout: TimeAmount = .seconds(60)
    public var hostName: String = ""
    /// Ask IPV6CP too.
    public var ipv6 = false

    public init(server: String, credentials: ClientCredentials) {
        self.server = server
        self.credentials = credentials
    }
}

/// A route the client installs through the tunnel.
public enum RouteRequest: Hashable, Sendable, CustomStringConvertible {
    /// Everything (a host route to the server is kept via the original gateway).
    case defaultRoute
    /// A split-tunnel prefix.
    case prefix(IPv4Address, length: Int)

    /// Parses "default" or a CIDR "198.51.100.0/24".
    public init?(_ text: String) {
        if text == "default" {
            self = .defaultRoute
            return
        }
        let parts = text.split(separator: "/")
        guard parts.count == 2, let address = IPv4Address(String(parts[0])), let length = Int(parts[1]),
            (0...32).contains(length)
        else {
            guard parts.count == 1, let address = IPv4Address(text) else { return nil }
            self = .prefix(address, length: 32)
            return
        }
        self = .prefix(address, length: length)
    }

    public var description: String {
        switch self {
        case .defaultRoute: return "default"
        case .prefix(let address, let length): return "\(address)/\(length)"
        }
    }
}

/// How a `pptp connect` run ended, with the exit code a script can test.
public enum ClientOutcome: Hashable, Sendable, CustomStringConvertible {
    /// Stopped by the user (SIGINT/SIGTERM) after a working session.
    case stopped
    case nameResolutionFailed(String)
    case tcpRefused(String)
    case tcpUnreachable(String)
    /// The control connection was refused or stopped by the server.
    case controlConnectionFailed(String)
    /// The server refused the call (OCRP) or cleared it (CDN).
    case callRefused(String)
    /// TCP 1723 works, but no GRE comes back from the server.
    case greBlocked
    case authenticationFailed(AuthenticationFailure)
    case encryptionNotAgreed(String)
    case negotiationFailed(String)
    /// A working tunnel dropped (echo time-out, server hung up) and we do not reconnect.
    case linkLost(String)
    case localError(String)

    public var exitCode: Int32 {
        switch self {
        case .stopped: return 0
        case .nameResolutionFailed: return 3
        case .tcpRefused, .tcpUnreachable: return 4
        case .controlConnectionFailed: return 5
        case .callRefused: return 6
        case .greBlocked: return 7
        case .authenticationFailed: return 8
        case .encryptionNotAgreed: return 9
        case .negotiationFailed: return 10
        case .linkLost: return 11
        case .localError: return 1
        }
    }

    /// Whether reconnecting can help (not for a wrong password or a refused policy).
    public var isRetryable: Bool {
        switch self {
        case .tcpRefused, .tcpUnreachable, .controlConnectionFailed, .callRefused, .greBlocked, .linkLost,
            .negotiationFailed, .nameResolutionFailed:
            return true
        case .stopped, .authenticationFailed, .encryptionNotAgreed, .localError:
            return false
        }
    }

    /// The diagnosis in plain words.
    public var description: String {
        switch self {
        case .stopped: return "disconnected"
        case .nameResolutionFailed(let name): return "cannot resolve the server name \"\(name)\""
        case .tcpRefused(let detail):
            return
                "the server refused the TCP connection to port 1723 (\(detail)): no PPTP server there, or a firewall rejects it"
        case .tcpUnreachable(let detail): return "cannot reach the server on TCP port 1723 (\(detail))"
        case .controlConnectionFailed(let detail): return "the PPTP control connection failed: \(detail)"
        case .callRefused(let detail): return "the server refused or ended the call: \(detail)"
        case .greBlocked:
            return
                "control connection up but no GRE from the server: protocol 47 is blocked by a firewall or a NAT without a PPTP helper (Windows error 806)"
        case .authenticationFailed(let failure): return failure.description
        case .encryptionNotAgreed(let detail): return "encryption not agreed: \(detail)"
        case .negotiationFailed(let detail): return "PPP negotiation failed: \(detail)"
        case .linkLost(let detail): return "the tunnel dropped: \(detail)"
        case .localError(let detail): return detail
        }
    }
}

extension ClientOutcome {
    /// Maps the end of PPP to the diagnosis a user understands.
    public static func from(_ reason: PPPDownReason, greReceived: Int, wasUp: Bool) -> ClientOutcome {
        switch reason {
        case .authenticationFailed(let failure):
            return .authenticationFailed(failure)
        case .encryptionNeedsMSCHAP:
            return .encryptionNotAgreed(reason.description)
        case .negotiationFailed(let failure):
            switch failure {
            case .encryptionRefused, .noCommonEncryption: return .encryptionNotAgreed(failure.description)
            case .peerNotResponding where greReceived == 0: return .greBlocked
            case .authenticationRefused, .noCommonAuthenticationMethod:
                return .authenticationFailed(.rejected(.authenticationFailure, message: failure.description))
            default: return wasUp ? .linkLost(failure.description) : .negotiationFailed(failure.description)
            }
        case .handshakeTimeout where greReceived == 0:
            return .greBlocked
        case .handshakeTimeout:
            return .negotiationFailed(reason.description)
        case .echoTimeout, .lowerLayerDown:
            return wasUp ? .linkLost(reason.description) : .negotiationFailed(reason.description)
        case .peerTerminated(let text):
            // pppd tells a client without MPPE "MPPE required but not available" (E=… none).
            if text.localizedMPPE { return .encryptionNotAgreed("the server ended the link: \(text)") }
            return wasUp ? .linkLost(reason.description) : .negotiationFailed(reason.description)
        case .localClose:
            return .stopped
        }
    }
}

extension String {
    fileprivate var localizedMPPE: Bool { contains("MPPE") && !contains("disabled") }
}
