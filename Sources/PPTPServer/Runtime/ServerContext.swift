import Glibc
import Logging
import NIOConcurrencyHelpers
import NIOCore
import PPP
import PPTP
import PPTPNetwork

/// What every control connection of a server shares.
final class ServerContext: Sendable {
    let configuration: ServerConfiguration
    let state: ServerState
    let router = SessionRouter()
    let logger: Logger
    let startTime = NIODeadline.now()
    /// Who may log in (the secrets file; RADIUS next).
    let backend: any AuthenticationBackend
    /// Session starts, ends and refused logins, for the log, accounting and metrics.
    let events = SessionEvents()
    private let dataPlaneBox = NIOLockedValueBox<(any DataPlaneControl)?>(nil)

    init(configuration: ServerConfiguration, backend: any AuthenticationBackend, logger: Logger) {
        self.configuration = configuration
        self.state = ServerState(configuration: configuration)
        self.backend = backend
        self.logger = logger
        events.add(SessionLog(logger: logger))
    }

    var dataPlane: (any DataPlaneControl)? { dataPlaneBox.withLockedValue { $0 } }

    func attach(_ dataPlane: any DataPlaneControl) { dataPlaneBox.withLockedValue { $0 = dataPlane } }

    /// Seconds since the server started (for uptimes).
    func secondsSinceStart(_ now: NIODeadline = .now()) -> Double {
        Double((now - startTime).nanoseconds) / 1e9
    }

    var controlConfiguration: ControlConnectionConfiguration {
        ControlConnectionConfiguration(
            role: .pac,
            hostName: configuration.hostName.isEmpty ? systemHostName : configuration.hostName,
            vendor: configuration.vendor,
            establishTimeout: configuration.limits.handshakeTimeout,
            echoInterval: configuration.controlEchoInterval,
            echoTimeout: .seconds(60),
            receiveWindow: 16384
        )
    }

    func pppConfiguration() -> PPPSessionConfiguration {
        PPPSessionConfiguration(
            role: .server,
            policy: configuration.policy,
            mru: 1500,
            name: configuration.name,
            ipcp: .assigning(
                local: configuration.localAddress,
                peer: .unspecified,
                dns: configuration.dns,
                nbns: configuration.nbns
            ),
            ipv6: configuration.ipv6,
            echoInterval: configuration.lcpEchoInterval,
            echoFailures: configuration.lcpEchoFailures,
            handshakeTimeout: configuration.limits.handshakeTimeout
        )
    }

    /// The addresses IPCP will use for an authenticated user: a fixed one it may have, or one from the pool.
    func assignAddress(
        for key: SessionKey,
        restriction: ChapSecretEntry.AddressRestriction
    ) -> Result<IPCPNegotiator.Role, ServerState.AddressFailure> {
        state.assignAddress(for: key, restriction: restriction).map { address in
            .assigning(
                local: configuration.localAddress,
                peer: address,
                dns: configuration.dns,
                nbns: configuration.nbns
            )
        }
    }
}

/// This machine's host name (gethostname(2)), sent in SCCRP when `host_name` is not configured,
/// as pptpd and Windows RRAS send theirs (RFC 2637 §2.2: the DNS name of the issuing LNS).
private let systemHostName: String = {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count - 1) == 0 else { return "" }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}()
