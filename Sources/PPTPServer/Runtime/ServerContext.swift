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
    private let secretsBox: NIOLockedValueBox<ChapSecrets>
    private let dataPlaneBox = NIOLockedValueBox<(any DataPlaneControl)?>(nil)

    init(configuration: ServerConfiguration, secrets: ChapSecrets, logger: Logger) {
        self.configuration = configuration
        self.state = ServerState(configuration: configuration)
        self.secretsBox = NIOLockedValueBox(secrets)
        self.logger = logger
    }

    var secrets: ChapSecrets { secretsBox.withLockedValue { $0 } }

    func replaceSecrets(_ secrets: ChapSecrets) { secretsBox.withLockedValue { $0 = secrets } }

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

    /// Verifies credentials against the secrets file and picks the user's address.
    func verify(
        _ request: AuthenticationRequest,
        key: SessionKey
    ) -> (AuthenticationVerdict, IPCPNegotiator.Role?, String) {
        guard let entry = secrets.entry(forUser: request.userName, server: configuration.name) else {
            return (.reject(.authenticationFailure, message: "Access denied"), nil, "unknown user")
        }
        let outcome = CredentialVerifier.verify(request, secret: entry.secret)
        guard case .accept = outcome.verdict else {
            return (outcome.verdict, nil, "wrong password or response")
        }
        switch state.assignAddress(for: key, restriction: entry.addresses) {
        case .success(let address):
            let role = IPCPNegotiator.Role.assigning(
                local: configuration.localAddress,
                peer: address,
                dns: configuration.dns,
                nbns: configuration.nbns
            )
            return (outcome.verdict, role, "ok")
        case .failure(let failure):
            // Authenticated, but no address: refuse with a clear reason rather than a link that
            // cannot carry IP.
            return (.reject(.authenticationFailure, message: "No address available"), nil, failure.description)
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
